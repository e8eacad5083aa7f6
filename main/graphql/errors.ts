import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { PhError, faultOf } from '../../contract/errors';
import type { Logger } from '../logger';

/** `extensions` as GraphQL clients read them: the catalogue's code, and the field or details when there are. */
function extensionsOf(error: PhError): Record<string, unknown> {
  const extensions: Record<string, unknown> = { code: error.code, status: error.status };
  if (error.field !== undefined) extensions.field = error.field;
  if (error.details !== undefined) extensions.details = error.details;
  return extensions;
}

/** A refusal of the whole request (auth, limits, persisted-only) in the GraphQL error shape. */
export function requestError(error: PhError): { errors: GraphQLFormattedError[] } {
  return { errors: [{ message: error.message, extensions: extensionsOf(error) }] };
}

/**
 * One error of an execution as the client sees it: a catalogue error with its code (the dispatcher's
 * PH_INVALID_INPUT with its field, PH_FORBIDDEN…), a document the schema refuses as
 * PH_GRAPHQL_INVALID, and anything else as PH_INTERNAL with no detail (logged here, never sent).
 */
export function formatError(error: GraphQLError, logger: Logger): GraphQLFormattedError {
  const where = {
    ...(error.locations === undefined ? {} : { locations: error.locations }),
    ...(error.path === undefined ? {} : { path: error.path }),
  };
  const original = error.originalError;
  if (original === undefined || original === null || original instanceof GraphQLError) {
    const invalid = new PhError('PH_GRAPHQL_INVALID');
    return { message: error.message, ...where, extensions: extensionsOf(invalid) };
  }
  const known = faultOf(original);
  if (known === null) logger.error({ err: original, path: error.path }, 'graphql: a resolver failed');
  const safe = known ?? new PhError('PH_INTERNAL');
  return { message: safe.message, ...where, extensions: extensionsOf(safe) };
}
