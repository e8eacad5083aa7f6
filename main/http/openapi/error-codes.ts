import { errorCatalogue, type ErrorCode } from '../../../contract/errors';
import type { Access } from '../../../contract/endpoints';
import type { OperationName } from '../../../contract/operations';

/** An operation's capability: the first part of its name (`cache` in `cache.get`). */
type Capability = OperationName extends `${infer C}.${string}` ? C : never;

/**
 * The catalogue codes each capability's operations raise, by prefix (or whole code, for one another
 * capability lends): a new `PH_CACHE_…` code is in the document as soon as it is in the catalogue. A
 * new capability fails to compile until it is here.
 */
const CAPABILITY_PREFIXES: Record<Capability, readonly string[]> = {
  system: [],
  keys: ['PH_KEY_'],
  sessions: [],
  audit: [],
  backup: ['PH_BACKUP_'],
  monitoring: ['PH_MONITORING_'],
  services: ['PH_DISCOVERY_'],
  jobs: ['PH_BATCH_'],
  batch: ['PH_BATCH_'],
  cache: ['PH_CACHE_'],
  realtime: ['PH_REALTIME_'],
  webhooks: ['PH_WEBHOOK_'],
  // Saving a persisted query parses it first.
  graphql: ['PH_GRAPHQL_INVALID'],
  // Assigning a tier names a key.
  ratelimit: ['PH_RATELIMIT_', 'PH_KEY_NOT_FOUND'],
  // A saga runs on the job queue.
  sagas: ['PH_SAGA_', 'PH_BATCH_'],
};

/** What any request may meet before it reaches a route: the Host and Origin checks, the rate limit, a path the router refuses. */
const EVERY_REQUEST: readonly ErrorCode[] = ['PH_MISDIRECTED', 'PH_ORIGIN_FORBIDDEN', 'PH_RATE_LIMITED', 'PH_INVALID_INPUT', 'PH_INTERNAL'];
const NEEDS_CREDENTIAL: readonly ErrorCode[] = ['PH_UNAUTHENTICATED', 'PH_AUTH_THROTTLED'];
const API_PATH: readonly ErrorCode[] = ['PH_UNSUPPORTED_API_VERSION'];
const READS_BODY: readonly ErrorCode[] = [
  'PH_MALFORMED_BODY',
  'PH_JSON_TOO_DEEP',
  'PH_REQUEST_TIMEOUT',
  'PH_PAYLOAD_TOO_LARGE',
  'PH_UNSUPPORTED_MEDIA_TYPE',
];
/** What the dispatcher and the stores under every operation answer, whatever its capability. */
const EVERY_OPERATION: readonly ErrorCode[] = [
  'PH_INVALID_INPUT',
  'PH_JSON_TOO_DEEP',
  'PH_NOT_FOUND',
  'PH_CONFLICT',
  'PH_UNAVAILABLE',
  'PH_REDIS_UNAVAILABLE',
  'PH_DISK_FULL',
  'PH_PERMISSION_DENIED',
  'PH_FILE_CORRUPT',
];

export interface ErrorSources {
  readonly access: Access;
  /** Under `/api/`: the version is negotiated, and can be refused. */
  readonly apiPath: boolean;
  readonly readsBody: boolean;
  /** The operations the route may call (two for a list and its long-poll). */
  readonly operations?: readonly OperationName[];
  readonly extra?: readonly ErrorCode[];
}

function capabilityCodes(name: OperationName): ErrorCode[] {
  const prefixes = CAPABILITY_PREFIXES[name.split('.')[0] as Capability];
  return (Object.keys(errorCatalogue) as ErrorCode[]).filter((code) => prefixes.some((prefix) => code.startsWith(prefix)));
}

/** Every catalogue code a route can answer with, in catalogue order. */
export function errorCodesFor(sources: ErrorSources): ErrorCode[] {
  const codes = new Set<ErrorCode>(EVERY_REQUEST);
  const add = (list: readonly ErrorCode[]): void => list.forEach((code) => codes.add(code));
  if (sources.access !== 'public') add(NEEDS_CREDENTIAL);
  if (sources.access === 'operator' || sources.access === 'admin') codes.add('PH_FORBIDDEN');
  if (sources.apiPath) add(API_PATH);
  if (sources.readsBody) add(READS_BODY);
  for (const name of sources.operations ?? []) {
    add(EVERY_OPERATION);
    add(capabilityCodes(name));
  }
  add(sources.extra ?? []);
  return (Object.keys(errorCatalogue) as ErrorCode[]).filter((code) => codes.has(code));
}
