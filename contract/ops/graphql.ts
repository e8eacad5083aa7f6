import { Type } from '@sinclair/typebox';
import { defineOperation } from '../operation';

export const PersistedQuerySchema = Type.Object({
  hash: Type.String({ description: 'SHA-256 of the query text, hex: what a client may send instead of the text' }),
  name: Type.String(),
  query: Type.String(),
  savedAt: Type.String({ format: 'date-time' }),
});

const Hash = Type.String({ minLength: 64, maxLength: 64, pattern: '^[0-9a-f]{64}$' });

export const graphqlOperations = {
  'graphql.persisted.list': defineOperation({
    summary: 'The persisted GraphQL queries (the allow-list) and whether only they are accepted',
    input: Type.Object({}),
    output: Type.Object({ enforced: Type.Boolean(), queries: Type.Array(PersistedQuerySchema) }),
    minRole: 'operator',
    mutating: false,
  }),
  'graphql.persisted.save': defineOperation({
    summary: 'Add a GraphQL query to the allow-list (checked against the schema), under a name',
    input: Type.Object(
      { name: Type.String({ minLength: 1, maxLength: 100 }), query: Type.String({ minLength: 1, maxLength: 100_000 }) },
      { additionalProperties: false },
    ),
    output: Type.Object({ query: PersistedQuerySchema }),
    minRole: 'admin',
    mutating: true,
    audit: 'each',
  }),
  'graphql.persisted.delete': defineOperation({
    summary: 'Remove a GraphQL query from the allow-list',
    input: Type.Object({ hash: Hash }, { additionalProperties: false }),
    output: Type.Object({ deleted: Type.Boolean() }),
    minRole: 'admin',
    mutating: true,
    audit: 'each',
  }),
  'graphql.persisted.enforce': defineOperation({
    summary: 'Accept only persisted GraphQL queries from viewers and operators (on), or any valid query (off)',
    input: Type.Object({ enabled: Type.Boolean() }, { additionalProperties: false }),
    output: Type.Object({ enforced: Type.Boolean() }),
    minRole: 'admin',
    mutating: true,
    audit: 'each',
  }),
} as const;
