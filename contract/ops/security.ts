import { Type } from '@sinclair/typebox';
import { defineOperation } from '../operation';

export const RoleSchema = Type.Union([Type.Literal('viewer'), Type.Literal('operator'), Type.Literal('admin')]);

export const ApiKeySchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  role: RoleSchema,
  scopes: Type.Array(Type.String()),
  createdAt: Type.String({ format: 'date-time' }),
  lastUsedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  revokedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

export const AuditEntrySchema = Type.Object({
  seq: Type.Integer(),
  at: Type.String({ format: 'date-time' }),
  actor: Type.String(),
  action: Type.String(),
  target: Type.Union([Type.String(), Type.Null()]),
  outcome: Type.Union([Type.Literal('ok'), Type.Literal('error')]),
  detail: Type.Union([Type.String(), Type.Null()]),
  hash: Type.String(),
});

export const securityOperations = {
  'keys.list': defineOperation({
    summary: 'Every API key, without secrets',
    input: Type.Object({ includeRevoked: Type.Optional(Type.Boolean()) }),
    output: Type.Object({ keys: Type.Array(ApiKeySchema) }),
    minRole: 'admin',
    mutating: false,
  }),
  'keys.create': defineOperation({
    summary: 'Create an API key; its secret is returned this once and never again',
    input: Type.Object({
      name: Type.String({ minLength: 1, maxLength: 100, pattern: '\\S' }),
      role: RoleSchema,
      scopes: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 50 })),
    }),
    output: Type.Object({ key: ApiKeySchema, secret: Type.String() }),
    minRole: 'admin',
    mutating: true,
  }),
  'keys.revoke': defineOperation({
    summary: 'Revoke an API key; requests with it are refused from then on',
    input: Type.Object({ id: Type.String({ minLength: 1 }) }),
    output: Type.Object({ key: ApiKeySchema }),
    minRole: 'admin',
    mutating: true,
  }),
  'audit.list': defineOperation({
    summary: 'The audit log, newest first, a page at a time',
    input: Type.Object({
      limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
      beforeSeq: Type.Optional(Type.Integer({ minimum: 1 })),
    }),
    output: Type.Object({
      entries: Type.Array(AuditEntrySchema),
      total: Type.Integer(),
      chainIntact: Type.Boolean(),
    }),
    minRole: 'operator',
    mutating: false,
  }),
} as const;
