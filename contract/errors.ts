/**
 * The one catalogue of errors a client can see. Every transport (IPC, HTTP, WebSocket) carries
 * `{ error: { code, message } }` with a code from here (GraphQL carries it as `extensions.code`), so clients branch on the code and never on
 * message text. Stack traces and internal paths never leave the process.
 */
export const errorCatalogue = {
  PH_INVALID_INPUT: { status: 400, message: 'The input is not valid' },
  PH_MALFORMED_BODY: { status: 400, message: 'The request body is not valid JSON' },
  PH_UNSUPPORTED_API_VERSION: { status: 400, message: 'That API version is not supported' },
  PH_UNAUTHENTICATED: { status: 401, message: 'A valid API key, session token or OAuth access token is required' },
  PH_FORBIDDEN: { status: 403, message: 'Your role does not allow this' },
  PH_ORIGIN_FORBIDDEN: { status: 403, message: 'Requests from another web origin are not accepted' },
  PH_AUTH_THROTTLED: { status: 429, message: 'Too many failed sign-ins from this address; wait before trying again' },
  PH_NOT_FOUND: { status: 404, message: 'Not found' },
  PH_OAUTH_INVALID_REQUEST: { status: 400, message: 'The token request is missing a parameter or repeats one (OAuth invalid_request)' },
  PH_OAUTH_INVALID_CLIENT: { status: 401, message: 'Client authentication failed (OAuth invalid_client)' },
  PH_OAUTH_INVALID_GRANT: {
    status: 400,
    message: 'The refresh token is invalid, expired, revoked or not this client’s (OAuth invalid_grant)',
  },
  PH_OAUTH_INVALID_SCOPE: { status: 400, message: 'The scope asked for is malformed or wider than granted (OAuth invalid_scope)' },
  PH_OAUTH_UNSUPPORTED_GRANT_TYPE: { status: 400, message: 'That grant type is not supported (OAuth unsupported_grant_type)' },
  PH_UNKNOWN_OPERATION: { status: 404, message: 'There is no such operation' },
  PH_KEY_NOT_FOUND: { status: 404, message: 'There is no API key with that id' },
  PH_CONFLICT: { status: 409, message: 'The request conflicts with the current state' },
  PH_MISDIRECTED: { status: 421, message: 'This server does not answer to that host name' },
  PH_METHOD_NOT_ALLOWED: { status: 405, message: 'That method is not allowed on this path' },
  PH_REQUEST_TIMEOUT: { status: 408, message: 'The request body did not arrive in time' },
  PH_PAYLOAD_TOO_LARGE: { status: 413, message: 'The request body is too large' },
  PH_JSON_TOO_DEEP: { status: 400, message: 'The JSON value is nested too deeply' },
  PH_UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'Send the body as application/json' },
  PH_RATE_LIMITED: { status: 429, message: 'Too many requests' },
  PH_INTERNAL: { status: 500, message: 'Something went wrong inside Pilothouse' },
  PH_UNAVAILABLE: { status: 503, message: 'The service is not available right now' },
  /** Raised by the console itself when a call has no answer in time (the server may still be working on it). */
  PH_CONSOLE_TIMEOUT: { status: 504, message: 'The console stopped waiting for an answer' },
  PH_REDIS_NOT_DURABLE: { status: 503, message: 'Redis does not persist its data (no AOF): queued jobs and fleet state die with it' },
  PH_REDIS_UNAVAILABLE: { status: 503, message: 'Redis did not answer in time' },
  PH_FLEET_MESSAGE_REJECTED: {
    status: 403,
    message: 'What Redis handed this node was not sealed by a node of this fleet (wrong or missing fleet secret), so it was not acted on',
  },
  PH_FLEET_SECRET_MISMATCH: {
    status: 500,
    message: "This node's fleet secret is not the one the nodes running on its Redis use",
  },
  PH_DISK_FULL: { status: 507, message: 'The disk is full' },
  PH_PERMISSION_DENIED: { status: 500, message: 'Pilothouse may not read or write a file it needs' },
  PH_FILE_CORRUPT: { status: 500, message: 'A file Pilothouse needs is damaged' },
  PH_SHUTTING_DOWN: { status: 503, message: 'Pilothouse is shutting down' },
  PH_CONFIG_INVALID: { status: 500, message: 'The configuration is not valid' },
  PH_PORT_IN_USE: { status: 500, message: 'The port is already in use' },
  PH_DATA_DIR_IN_USE: { status: 500, message: 'Another Pilothouse process is running on this data directory' },
  PH_STORE_NOT_PILOTHOUSE: { status: 500, message: 'The database file is not a Pilothouse database' },
  PH_TLS_INVALID: { status: 500, message: 'The TLS certificate or key cannot be used' },
  PH_STORE_TOO_NEW: { status: 500, message: 'The database was written by a newer Pilothouse' },
  PH_STORE_WAL_WITHOUT_DATABASE: { status: 500, message: 'The database file is empty or shorter than its WAL needs' },
  PH_BACKUP_NOT_FOUND: { status: 404, message: 'There is no snapshot with that id' },
  PH_BACKUP_SOURCE_NOT_FOUND: { status: 404, message: 'There is no backup source with that id' },
  PH_BACKUP_SOURCE_INVALID: { status: 400, message: 'The path is not a readable database file' },
  PH_BACKUP_NOT_SQLITE: { status: 400, message: 'The file is not a SQLite database' },
  PH_BACKUP_SOURCE_LOCKED: { status: 409, message: 'The database stayed locked by another writer' },
  PH_BACKUP_SOURCE_EXISTS: { status: 409, message: 'A source with that name or path is already registered' },
  PH_BACKUP_SCHEDULE_INVALID: { status: 400, message: 'The schedule is not a valid cron expression' },
  PH_BACKUP_NO_SNAPSHOT: { status: 404, message: 'There is no snapshot at or before that time' },
  PH_BACKUP_PATH_REFUSED: { status: 403, message: 'That path is not under a backup root, or cannot be used' },
  PH_BACKUP_TARGET_INVALID: { status: 400, message: 'The restore target is not valid' },
  PH_BACKUP_TARGET_IN_USE: { status: 409, message: 'The restore target is in use' },
  PH_BACKUP_VERIFY_FAILED: { status: 422, message: 'The snapshot failed verification' },
  PH_BACKUP_NOT_RUNNING: { status: 409, message: 'No snapshot of that source is running' },
  PH_BACKUP_CANCELLED: { status: 409, message: 'The snapshot was cancelled by an operator; no snapshot was recorded' },
  PH_BACKUP_NODE_UNREACHABLE: { status: 503, message: 'The node that runs that source could not be reached through the fleet' },
  PH_BACKUP_DAMAGED: { status: 422, message: 'The snapshot is damaged in the repository' },
  PH_BACKUP_KEY_LOCKED: { status: 423, message: 'The backup repository key is locked by a passphrase' },
  PH_BACKUP_KEY_WRONG: { status: 403, message: 'That is not the key (or passphrase) of this backup repository' },
  PH_BACKUP_REPLICA_NOT_FOUND: { status: 404, message: 'There is no backup replica with that id' },
  PH_BACKUP_REPLICA_REFUSED: { status: 400, message: 'The replica target is not an allowed destination' },
  PH_BACKUP_REPLICA_UNREACHABLE: { status: 502, message: 'The replica target could not be reached' },
  PH_BACKUP_REPLICA_FOREIGN: { status: 409, message: 'The replica holds another repository' },
  PH_BACKUP_PEER_UNSIGNED: { status: 401, message: 'A peer replica request must be signed with the fleet secret, recently' },
  PH_BACKUP_PEER_REFUSED: { status: 403, message: 'This node keeps no replicas for that node' },
  PH_BACKUP_PEER_QUOTA: { status: 507, message: 'This node keeps no more bytes for that node' },
  PH_MONITORING_RULE_NOT_FOUND: { status: 404, message: 'There is no alert rule with that id' },
  PH_MONITORING_UNKNOWN_SERIES: { status: 400, message: 'There is no metric series with that name' },
  PH_MONITORING_BAD_RANGE: { status: 400, message: 'The time range is not valid' },
  PH_DISCOVERY_NOT_FOUND: { status: 404, message: 'There is no service instance with that id' },
  PH_DISCOVERY_NO_INSTANCE: { status: 503, message: 'The service has no passing instance to send to' },
  PH_DISCOVERY_BAD_VERSION: { status: 400, message: 'The version is not a semantic version' },
  PH_DISCOVERY_BAD_RANGE: { status: 400, message: 'The version range is not a semver range' },
  PH_DISCOVERY_CHECK_INVALID: { status: 400, message: 'The check definition is not valid' },
  PH_DISCOVERY_LIMIT: { status: 409, message: 'The registry holds as many instances as it allows' },
  PH_DISCOVERY_SCOPE_REQUIRED: { status: 403, message: 'This key lacks the gateway scope for that service' },
  PH_DISCOVERY_TARGET_FORBIDDEN: { status: 403, message: 'That host and port are not in discovery.allowedTargets' },
  PH_DISCOVERY_UPSTREAM_FAILED: { status: 502, message: 'The upstream instance did not answer' },
  PH_DISCOVERY_NOT_DISCOVERED: { status: 404, message: 'No LAN service with that name has been discovered' },
  PH_DISCOVERY_UPGRADE_NOT_PROXIED: { status: 501, message: 'The gateway does not proxy WebSocket or other protocol upgrades' },
  PH_BATCH_NOT_FOUND: { status: 404, message: 'There is no batch with that id' },
  PH_BATCH_INVALID: { status: 400, message: 'The batch is not valid' },
  PH_BATCH_UNKNOWN_RESOURCE: { status: 400, message: 'No resource type of that name is registered' },
  PH_BATCH_UNSUPPORTED_ACTION: { status: 400, message: 'The resource type does not support that action' },
  PH_BATCH_VALIDATION_FAILED: { status: 422, message: 'An operation of the batch was refused by its validator' },
  PH_BATCH_OPERATION_FAILED: { status: 422, message: 'An operation of the batch failed' },
  PH_BATCH_JOB_NOT_FOUND: { status: 404, message: 'There is no job with that id' },
  PH_BATCH_JOB_UNKNOWN_TYPE: { status: 400, message: 'No handler is registered for that job type' },
  PH_BATCH_JOB_NOT_CANCELLABLE: { status: 409, message: 'The job has already ended' },
  PH_SAGA_NOT_FOUND: { status: 404, message: 'There is no saga with that id' },
  PH_SAGA_UNKNOWN_TYPE: { status: 400, message: 'No saga type is registered under that name' },
  PH_SAGA_ENDED: { status: 409, message: 'The saga has already ended or is compensating' },
  PH_BATCH_JOB_NOT_RETRYABLE: { status: 409, message: 'Only dead and cancelled jobs can be retried' },
  PH_BATCH_JOB_RUNNING: { status: 409, message: 'The job is running; cancel it first' },
  PH_BATCH_JOB_NOT_DELAYED: { status: 409, message: 'Only a delayed job can be promoted' },
  PH_WEBHOOK_NOT_FOUND: { status: 404, message: 'There is no webhook endpoint with that id' },
  PH_WEBHOOK_TARGET_REFUSED: { status: 400, message: 'The webhook URL is not an allowed destination' },
  PH_WEBHOOK_DELIVERY_NOT_FOUND: { status: 404, message: 'There is no webhook delivery with that id' },
  PH_RATELIMIT_TIER_NOT_FOUND: { status: 404, message: 'There is no rate-limit tier with that name' },
  PH_RATELIMIT_TIER_BUILTIN: { status: 409, message: 'A built-in tier cannot be deleted, and the unlimited tier keeps no limit' },
  PH_BATCH_JOB_UNRECOVERABLE: { status: 500, message: 'The job failed and will not be retried' },
  PH_CACHE_MISS: { status: 404, message: 'The key is not in the cache' },
  PH_CACHE_BAD_NAMESPACE: { status: 400, message: 'The cache namespace name is not valid' },
  PH_CACHE_KEY_TOO_LONG: { status: 400, message: 'The cache key is too long' },
  PH_CACHE_VALUE_TOO_LARGE: { status: 413, message: 'The cache value is too large' },
  PH_CACHE_LOADER_TIMEOUT: { status: 504, message: 'The cache loader did not answer in time' },
  PH_CACHE_WRITE_UNSHARED: {
    status: 503,
    message: 'Redis is unreachable: the write was refused so that no node serves a value the others cannot see; retry',
  },
  PH_REALTIME_FORBIDDEN: { status: 403, message: 'This room does not allow that to your key' },
  PH_REALTIME_NOT_SUBSCRIBED: { status: 409, message: 'Subscribe to the room first' },
  PH_REALTIME_TOO_MANY_ROOMS: {
    status: 409,
    message: 'This connection is in as many rooms as one connection may be; unsubscribe from one first',
  },
  PH_REALTIME_TOO_MANY_CONNECTIONS: { status: 429, message: 'This key holds as many hub connections as one key may' },
  PH_REALTIME_UNAVAILABLE: { status: 503, message: 'The real-time backplane is not reachable' },
  PH_GRAPHQL_INVALID: { status: 400, message: 'The GraphQL document is not valid against the schema' },
  PH_GRAPHQL_TOO_DEEP: { status: 400, message: 'The GraphQL query nests deeper than the server allows' },
  PH_GRAPHQL_TOO_COSTLY: { status: 400, message: 'The GraphQL query costs more than the server allows' },
  PH_GRAPHQL_TOO_MANY_ALIASES: { status: 400, message: 'The GraphQL query uses more aliases than the server allows' },
  PH_GRAPHQL_LIST_TOO_LARGE: { status: 400, message: 'The GraphQL query asks for a longer list than the server allows' },
  PH_GRAPHQL_NOT_PERSISTED: { status: 403, message: 'Only persisted GraphQL queries are accepted, and this one is not on the allow-list' },
  PH_GRAPHQL_INTROSPECTION_OFF: { status: 403, message: 'GraphQL introspection is off for your role' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof errorCatalogue;

/** The body every transport sends for a failed call. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; field?: string; details?: unknown };
}

export class PhError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly field: string | undefined;
  readonly details: unknown;

  constructor(code: ErrorCode, message?: string, options?: { field?: string; details?: unknown; cause?: unknown }) {
    super(message ?? errorCatalogue[code].message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PhError';
    this.code = code;
    this.status = errorCatalogue[code].status;
    this.field = options?.field;
    this.details = options?.details;
  }

  toBody(): ErrorBody {
    const error: ErrorBody['error'] = { code: this.code, message: this.message };
    if (this.field !== undefined) error.field = this.field;
    if (this.details !== undefined) error.details = this.details;
    return { error };
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(errorCatalogue, value);
}

/**
 * The catalogue error for a failure of the disk or of a file underneath (Node's errno codes and
 * SQLite's result codes), whatever library raised it; null for anything else. The message names no
 * path: callers that know which file failed and whom they answer add it themselves.
 */
export function faultOf(err: unknown): PhError | null {
  if (err instanceof PhError) return err;
  const code = String((err as { code?: unknown } | null)?.code ?? '');
  if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'SQLITE_FULL') return new PhError('PH_DISK_FULL', undefined, { cause: err });
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS' || code.startsWith('SQLITE_READONLY') || code === 'SQLITE_PERM')
    return new PhError('PH_PERMISSION_DENIED', undefined, { cause: err });
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') return new PhError('PH_FILE_CORRUPT', undefined, { cause: err });
  return null;
}

/** Turns anything thrown into a body safe to send: unknown errors become PH_INTERNAL with no detail. */
export function toErrorBody(err: unknown): ErrorBody {
  return (faultOf(err) ?? new PhError('PH_INTERNAL')).toBody();
}
