import type { ErrorCode } from '../../contract/errors';

/**
 * Every failure the server answers, as a class per kind with the catalogue code
 * (contract/errors.ts) on it: branch on the class for the kind, on `code` for the exact cause.
 */
export class PilothouseError extends Error {
  constructor(
    /** The catalogue code, `PH_…`. */
    readonly code: ErrorCode,
    message: string,
    /** The HTTP status it came with (0: no answer at all). */
    readonly status: number,
    readonly field?: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** 400, 413, 415, 422: the request itself is at fault (`field` names the input at fault). */
export class InvalidInputError extends PilothouseError {}
/** 401: no credential, or a wrong, expired or revoked one; OAuth `invalid_client` and `invalid_grant` too. */
export class AuthenticationError extends PilothouseError {}
/** 403: the key's role or scopes do not allow it. */
export class ForbiddenError extends PilothouseError {}
/** 404: nothing of that name or id (a cache miss is `PH_CACHE_MISS`). */
export class NotFoundError extends PilothouseError {}
/** 409: it conflicts with the current state. */
export class ConflictError extends PilothouseError {}
/** 429: the rate limit or the failed-authentication throttle; wait `retryAfterSeconds`. */
export class RateLimitedError extends PilothouseError {
  get retryAfterSeconds(): number | null {
    const wait = (this.details as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds;
    return typeof wait === 'number' ? wait : null;
  }
}
/** 502, 503, 504, or no answer: try again (another node, later). */
export class UnavailableError extends PilothouseError {}
/** 500 and anything else: a fault inside the server. */
export class ServerError extends PilothouseError {}

const byStatus: Record<number, typeof PilothouseError> = {
  400: InvalidInputError,
  413: InvalidInputError,
  415: InvalidInputError,
  422: InvalidInputError,
  401: AuthenticationError,
  403: ForbiddenError,
  404: NotFoundError,
  405: InvalidInputError,
  409: ConflictError,
  429: RateLimitedError,
  502: UnavailableError,
  503: UnavailableError,
  504: UnavailableError,
  0: UnavailableError,
};

/**
 * The error for a failed answer: the catalogue's envelope `{ error: { code, message, … } }`, or an
 * OAuth endpoint's `{ error, error_description, code }` (RFC 6749 §5.2).
 */
export function errorFrom(status: number, body: unknown, retryAfter?: string | null): PilothouseError {
  const envelope = (body ?? {}) as { error?: unknown; error_description?: unknown; code?: unknown };
  let code = 'PH_INTERNAL';
  let message = `HTTP ${status}`;
  let field: string | undefined;
  let details: unknown;
  if (typeof envelope.error === 'object' && envelope.error !== null) {
    const e = envelope.error as { code?: unknown; message?: unknown; field?: unknown; details?: unknown };
    if (typeof e.code === 'string') code = e.code;
    if (typeof e.message === 'string') message = e.message;
    if (typeof e.field === 'string') field = e.field;
    details = e.details;
  } else if (typeof envelope.error === 'string') {
    if (typeof envelope.code === 'string') code = envelope.code;
    message = typeof envelope.error_description === 'string' ? envelope.error_description : envelope.error;
    details = { oauthError: envelope.error };
  }
  if (status === 429 && retryAfter != null && (details === undefined || typeof details === 'object'))
    details = { ...(details as object | undefined), retryAfterSeconds: Number(retryAfter) };
  // OAuth's invalid_grant is a 400 but means "sign in again": an authentication failure.
  const Kind =
    code === 'PH_OAUTH_INVALID_GRANT' ? AuthenticationError : (byStatus[status] ?? (status >= 500 ? ServerError : PilothouseError));
  return new Kind(code as ErrorCode, message, status, field, details);
}
