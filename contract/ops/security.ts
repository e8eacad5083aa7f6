import { Type } from '@sinclair/typebox';
import { defineOperation } from '../operation';
import { apiVersions } from '../versions';

export const RoleSchema = Type.Union([Type.Literal('viewer'), Type.Literal('operator'), Type.Literal('admin')]);

/** A version of the REST API (contract/versions/). */
export const ApiVersionSchema = Type.Union(apiVersions.map((v) => Type.Literal(v)));

export const ApiKeySchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  role: RoleSchema,
  scopes: Type.Array(Type.String()),
  createdAt: Type.String({ format: 'date-time' }),
  lastUsedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  revokedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  /** The REST version a request with this key gets when it names none (null: the latest). */
  apiVersion: Type.Union([ApiVersionSchema, Type.Null()]),
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
  /** The node whose chain holds the row (`seq` counts within that chain); absent on a single machine. */
  node: Type.Optional(Type.String()),
});

const FirstBadSchema = Type.Union([
  Type.Object({
    seq: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()]),
    reason: Type.Union([
      Type.Literal('hash'),
      Type.Literal('link'),
      Type.Literal('sequence'),
      Type.Literal('truncated'),
      Type.Literal('anchor'),
    ]),
  }),
  Type.Null(),
]);

export const AuditVerificationSchema = Type.Object({
  intact: Type.Boolean(),
  /** Rows that verified, from the first. */
  rows: Type.Integer({ minimum: 0 }),
  /**
   * The first row that does not hold: `hash` (its fields or hash were changed), `link` (it does not
   * follow the row before), `sequence` (a row is missing in between), `truncated` (rows the head
   * written outside the database vouched for are gone or replaced; `seq` is the first of them),
   * `anchor` (the database says rows were cut by retention that the head does not vouch for).
   */
  firstBad: FirstBadSchema,
  /**
   * The last row retention cut (absent: none was): the chain verifies from the row after it, whose
   * previous hash must be `hash`; the head file vouches for it.
   */
  anchor: Type.Optional(Type.Object({ seq: Type.Integer({ minimum: 1 }), hash: Type.String() })),
  /** The chain head last written outside the database, or null when there is none. */
  head: Type.Union([Type.Object({ seq: Type.Integer({ minimum: 0 }), at: Type.String({ format: 'date-time' }) }), Type.Null()]),
  /**
   * In a fleet: every other node's chain as this node holds it, from where that node joined the
   * fleet; `intact` above is false when any of them is broken.
   */
  chains: Type.Optional(
    Type.Array(Type.Object({ node: Type.String(), intact: Type.Boolean(), rows: Type.Integer({ minimum: 0 }), firstBad: FirstBadSchema })),
  ),
});

/** Which open connections a revocation ends; carried to every node's hub. */
export const RevocationSchema = Type.Object({
  /** Every session and socket of this key (the key was revoked). */
  keyId: Type.Union([Type.String(), Type.Null()]),
  /** One session (signed out). */
  sessionId: Type.Union([Type.String(), Type.Null()]),
  /** Every session token (the signing secret was rotated); API-key connections stay. */
  allSessions: Type.Boolean(),
  /** `token-revoked`: an OAuth grant ended (RFC 7009 revocation, or its refresh token reused); `sessionId` is `oauth:<grant id>`. */
  reason: Type.Union([
    Type.Literal('key-revoked'),
    Type.Literal('signed-out'),
    Type.Literal('secret-rotated'),
    Type.Literal('token-revoked'),
  ]),
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
      name: Type.String({ minLength: 1, maxLength: 100, pattern: '\\S', description: 'Something other than spaces' }),
      role: RoleSchema,
      scopes: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 50 })),
      /** Pin the key to a REST version: its requests that name none are answered in it. */
      apiVersion: Type.Optional(ApiVersionSchema),
    }),
    output: Type.Object({ key: ApiKeySchema, secret: Type.String() }),
    minRole: 'admin',
    mutating: true,
    audit: 'each',
  }),
  'keys.revoke': defineOperation({
    summary: 'Revoke an API key; requests with it and its sessions are refused and their open sockets close',
    input: Type.Object({ id: Type.String({ minLength: 1 }) }),
    output: Type.Object({ key: ApiKeySchema }),
    minRole: 'admin',
    mutating: true,
    audit: 'each',
  }),
  'keys.pin': defineOperation({
    summary: 'Pin an API key to a REST version (null: follow the latest); its requests that name no version get it',
    input: Type.Object({ id: Type.String({ minLength: 1 }), apiVersion: Type.Union([ApiVersionSchema, Type.Null()]) }),
    output: Type.Object({ key: ApiKeySchema }),
    minRole: 'admin',
    mutating: true,
    audit: 'each',
  }),
  'keys.update': defineOperation({
    summary: "Replace an API key's scopes (its role and secret stay); every node applies it to the key's next request",
    input: Type.Object({
      id: Type.String({ minLength: 1, maxLength: 100 }),
      scopes: Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 50 }),
    }),
    output: Type.Object({ key: ApiKeySchema }),
    minRole: 'admin',
    mutating: true,
    audit: 'each',
  }),
  'audit.list': defineOperation({
    summary: 'The audit log, newest first, a page at a time',
    input: Type.Object({
      limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
      /** Pages this node's chain. */
      beforeSeq: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })),
      /** Every node's rows (in a fleet), newest first (by time, then node, then seq); paged with `cursor`; the filters apply. */
      fleet: Type.Optional(Type.Boolean()),
      cursor: Type.Optional(
        Type.String({ minLength: 1, maxLength: 300, description: "With fleet: the previous page's nextCursor, the page after it" }),
      ),
      beforeAt: Type.Optional(
        Type.String({
          format: 'date-time',
          description: 'With fleet: only rows before this instant (page with cursor: rows share instants)',
        }),
      ),
      actor: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Only rows by this actor (e.g. key:<id>)' })),
      action: Type.Optional(
        Type.String({
          minLength: 1,
          maxLength: 100,
          description: 'Only rows whose action starts with this (cache: cache.put, cache.delete, …; keys.create: that one)',
        }),
      ),
      target: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Only rows whose target holds this text' })),
      since: Type.Optional(Type.String({ format: 'date-time', description: 'Only rows at or after this instant' })),
      until: Type.Optional(Type.String({ format: 'date-time', description: 'Only rows before this instant' })),
    }),
    output: Type.Object({
      entries: Type.Array(AuditEntrySchema),
      total: Type.Integer({ description: 'Every row the filters match' }),
      chainIntact: Type.Boolean(),
      nextCursor: Type.Optional(
        Type.Union([Type.String(), Type.Null()], { description: 'With fleet: pass as cursor for the next page; null on the last' }),
      ),
    }),
    minRole: 'operator',
    mutating: false,
  }),
  'audit.verify': defineOperation({
    summary: 'Check every audit row against the keyed chain and the head written outside the database',
    input: Type.Object({}),
    output: AuditVerificationSchema,
    minRole: 'operator',
    mutating: false,
  }),
  'sessions.logout': defineOperation({
    summary: 'End the session this call is made with (sign-out): its token is refused and its sockets close',
    input: Type.Object({}),
    output: Type.Object({ ended: Type.Boolean() }),
    minRole: 'viewer',
    mutating: true,
    audit: 'each',
  }),
  'sessions.rotate': defineOperation({
    summary: 'Replace the session signing secret: every session token ends and its sockets close',
    input: Type.Object({}),
    output: Type.Object({ rotatedAt: Type.String({ format: 'date-time' }) }),
    minRole: 'admin',
    mutating: true,
    audit: 'each',
  }),
} as const;
