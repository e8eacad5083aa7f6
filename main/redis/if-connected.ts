import type { Redis } from 'ioredis';
import { PhError } from '../../contract/errors';
import { withRedisDeadline } from './deadline';

/**
 * A wait on Redis that must not outlast an outage, such as a start step's: a node starts degraded
 * while Redis is down or hung (docs/api.md), and ioredis keeps a command in its offline queue for as
 * long as the server does not answer (a stopped server accepts the connection and never replies).
 * The caller waits only while `shared` (the node's client) is connected, and then within the Redis
 * deadline; otherwise `work` is left to finish once Redis is back, and the caller is told at once,
 * with PH_REDIS_UNAVAILABLE, to carry on without it.
 */
export function redisIfConnected<T>(shared: Redis, work: Promise<T>, what: string): Promise<T> {
  if (shared.status === 'ready') return withRedisDeadline(work, what);
  work.catch(() => undefined);
  return Promise.reject(new PhError('PH_REDIS_UNAVAILABLE', `${what}: Redis is not connected; done once it is`));
}
