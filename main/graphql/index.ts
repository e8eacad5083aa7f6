export { GraphqlApi } from './graphql-api';
export { GRAPHQL_PATH } from './graphql-http';
export { graphqlMigrations, EnforcedRecordSchema, PersistedRecordSchema, type PersistedQueries } from './persisted';
export { buildContractSchema } from './schema';
export { InexpressibleShapeError } from './type-mapper';
