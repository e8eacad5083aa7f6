export { Pilothouse, type PilothouseOptions } from './pilothouse';
export {
  AuthenticationError,
  ConflictError,
  ForbiddenError,
  InvalidInputError,
  NotFoundError,
  PilothouseError,
  RateLimitedError,
  ServerError,
  UnavailableError,
  errorFrom,
} from './errors';
export { ApiKeyToken, ClientCredentials, type ClientCredentialsOptions, type TokenSource } from './tokens';
export { Cache, type L1Options } from './cache';
export { Discovery, Registration, type Instance, type RegisterOptions } from './discovery';
export { Jobs, JobProgressIterator, type JobInfo, type JobProgress } from './jobs';
export { EventFeed } from './events';
export { Transport } from './http';
export type { ErrorCode } from '../../contract/errors';
export * from './generated/contract';
// The real-time hub's own client, bundled: rooms, presence, history, publish.
export * from '../../main/realtime/client';
