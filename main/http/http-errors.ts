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
            : new PhError('PH_INVALID_INPUT');
    return { status: mapped.status, body: mapped.toBody(), internal: false };
  }
  const internal = new PhError('PH_INTERNAL');
  return { status: internal.status, body: internal.toBody(), internal: true };
}
