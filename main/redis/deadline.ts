import { PhError } from '../../contract/errors';

/** How long a call that needs Redis waits for it before answering 503: well under a client's patience. */
export const REDIS_CALL_TIMEOUT_MS = 2_000;

/**
 * Bounds a call that needs Redis. ioredis queues commands while it reconnects and a hung server
 * (stopped, swapping, partitioned) keeps the socket open without answering, so without a bound a
 * caller waits out the whole outage. After `timeoutMs` the caller gets PH_REDIS_UNAVAILABLE (503);
 * the command itself may still run when Redis comes back, so writes should carry an idempotency key.
 */
export function withRedisDeadline<T>(work: Promise<T>, what: string, timeoutMs = REDIS_CALL_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new PhError('PH_REDIS_UNAVAILABLE', `${what}: Redis did not answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  const answered = work.catch((err: unknown) => {
    throw isConnectionError(err) ? new PhError('PH_REDIS_UNAVAILABLE', `${what}: Redis is not reachable`, { cause: err }) : err;
  });
  return Promise.race([answered, deadline]).finally(() => clearTimeout(timer));
}

/** ioredis's ways of saying the command never reached a server (down, closed, retries used up). */
export function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error) || err instanceof PhError) return false;
  return (
    err.name === 'MaxRetriesPerRequestError' ||
    /Connection is closed|Stream isn't writeable|ECONNREFUSED|ECONNRESET|EPIPE|offline queue/i.test(err.message)
  );
}
