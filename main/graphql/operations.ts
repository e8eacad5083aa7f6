import { parse, validate, type GraphQLSchema } from 'graphql';
import { PhError } from '../../contract/errors';
import type { HandlersFor } from '../core';
import type { PersistedQueries } from './persisted';

type GraphqlOperation = 'graphql.persisted.list' | 'graphql.persisted.save' | 'graphql.persisted.delete' | 'graphql.persisted.enforce';

/** The allow-list's operations; a query is saved only if the schema accepts it, so the list holds nothing that cannot run. */
export function graphqlHandlers(persisted: PersistedQueries, schema: GraphQLSchema): HandlersFor<GraphqlOperation> {
  return {
    'graphql.persisted.list': () => ({ enforced: persisted.enforced(), queries: persisted.list() }),
    'graphql.persisted.save': ({ name, query }) => {
      let errors: readonly { message: string }[];
      try {
        errors = validate(schema, parse(query));
      } catch (err) {
        errors = [err as Error];
      }
      if (errors.length > 0) throw new PhError('PH_GRAPHQL_INVALID', errors[0]!.message, { field: 'query' });
      return { query: persisted.save(name, query) };
    },
    'graphql.persisted.delete': ({ hash }) => ({ deleted: persisted.delete(hash) }),
    'graphql.persisted.enforce': ({ enabled }) => {
      persisted.enforce(enabled);
      return { enforced: persisted.enforced() };
    },
  };
}
