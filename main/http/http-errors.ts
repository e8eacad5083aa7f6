import { PhError, faultOf, type ErrorBody } from '../../contract/errors';

/**
 * Maps anything a route throws to a status and a catalogue body. Fastify's own client errors (bad
 * JSON, wrong content type, body too large) keep their 4xx meaning; everything unexpected becomes
 * PH_INTERNAL with no message, path or stack from inside the process.
 */
export function httpErrorOf(err: unknown): { status: number; body: ErrorBody; internal: boolean } {
  if (err instanceof PhError) return { status: err.status, body: err.toBody(), internal: false };
  const fault = faultOf(err);
  if (fault !== null) return { status: fault.status, body: fault.toBody(), internal: true };
  const statusCode = typeof (err as { statusCode?: unknown })?.statusCode === 'number' ? (err as { statusCode: number }).statusCode : 500;
  if (statusCode >= 400 && statusCode < 500) {
    const mapped =
      statusCode === 413
        ? new PhError('PH_PAYLOAD_TOO_LARGE')
        : statusCode === 415
          ? new PhError('PH_UNSUPPORTED_MEDIA_TYPE')
          : err instanceof SyntaxError || /JSON/i.test(String((err as { code?: unknown }).code ?? ''))
            ? new PhError('PH_MALFORMED_BODY')
            : invalidInput(err);
    return { status: mapped.status, body: mapped.toBody(), internal: false };
  }
  const internal = new PhError('PH_INTERNAL');
  return { status: internal.status, body: internal.toBody(), internal: true };
}

/**
 * Fastify's own schema check of a route's params, query or body: the field it names, so a REST caller
 * learns what to fix as an ops caller does. A bad path parameter (an over-long cache key) is `path`.
 */
function invalidInput(err: unknown): PhError {
  // A path no route takes (a parameter over the router's length limit) falls through to the console's
  // static files, which refuse it as a path: the same answer the router gives for `%zz`.
  if ((err as { code?: unknown }).code === 'FST_STATIC_FORBIDDEN_PATH') {
    return new PhError('PH_INVALID_INPUT', 'The request path is not valid', { field: 'path' });
  }
  const { validation, validationContext } = err as { validation?: { instancePath?: string }[]; validationContext?: string };
  if (!Array.isArray(validation) || validation.length === 0) return new PhError('PH_INVALID_INPUT');
  const inside = (validation[0]?.instancePath ?? '').replace(/^\//, '').replaceAll('/', '.');
  const field = validationContext === 'params' ? 'path' : inside || (validationContext ?? 'input');
  return new PhError('PH_INVALID_INPUT', `Field "${field}" is not valid`, { field });
}
