import { Redis, type RedisOptions } from 'ioredis';
import { PhError } from '../../contract/errors';
import type { Logger } from '../logger';
import type { Service, ServiceState } from '../service';
import { withRedisDeadline } from './deadline';
import { RedisProbe } from './redis-probe';

/**
 * The one ioredis client the node shares (cache L2, backplane, counters, queues each duplicate it
 * for blocking or subscriber use). Redis is optional: when it is down Pilothouse keeps running, and
 * this service reports `degraded` until it reconnects.
 */
export class RedisConnection implements Service {
  readonly name = 'redis';
  readonly client: Redis;
  /** Whether Redis answers, which `ready` alone does not say of a stopped server: the statuses of the services on Redis follow it. */
  readonly probe: RedisProbe;
  #stopping = false;
  #lastError: Error | null = null;

  constructor(
    target: RedisOptions,
    private readonly logger: Logger,
  ) {
    this.client = new Redis({
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      connectTimeout: 2000,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
      ...target,
    });
    // Every fleet table and several services listen for this shared client's 'ready' (to resync after
    // a reconnect): a fixed number set by the code, not by traffic, so the default of 10 warned of a
    // leak that is not one.
    this.client.setMaxListeners(64);
    this.probe = new RedisProbe(this.client);
    this.client.on('error', (err: Error) => {
      this.#lastError = err;
      if (!this.#stopping) this.logger.warn({ err: err.message }, 'redis connection error');
    });
  }

  /**
   * Connects. A Redis that is not there yet is not fatal (ioredis keeps retrying and the node runs
   * single-machine until it is back), but one that refuses our credentials or whose certificate
   * cannot be checked will not get better by retrying: the start is refused with the setting to fix.
   */
  async start(): Promise<void> {
    try {
      // A stopped (SIGSTOP) server accepts the connection and never answers its ready check: connect()
      // would wait out the outage, so after the deadline the node starts without it, as when refused.
      await withRedisDeadline(
        this.client.connect().catch((err: unknown) => {
          throw this.#lastError ?? err;
        }),
        'redis connect',
      );
    } catch (err) {
      const cause = err instanceof PhError ? ((err.cause as Error | undefined) ?? err) : (err as Error);
      const why = misconfiguration(cause);
      if (why !== null) {
        this.#stopping = true;
        this.client.disconnect();
        throw new PhError('PH_CONFIG_INVALID', `Setting "redisUrl": ${why} (${cause.message})`, { field: 'redisUrl' });
      }
      this.logger.warn({ err: (err as Error).message }, 'redis not reachable at start; retrying in the background');
    }
    this.probe.start();
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    this.probe.stop();
    if (this.client.status === 'end') return;
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }

  get connected(): boolean {
    return this.client.status === 'ready';
  }

  status(): { state: ServiceState; detail?: string } {
    if (this.#stopping) return { state: this.client.status === 'end' ? 'stopped' : 'stopping' };
    const trouble = this.probe.trouble();
    if (this.client.status === 'ready' && trouble !== null) return { state: 'degraded', detail: trouble };
    if (this.client.status === 'ready') return { state: 'running' };
    if (this.client.status === 'wait') return { state: 'idle' };
    return { state: 'degraded', detail: `redis ${this.client.status}` };
  }
}

const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_HAS_EXPIRED',
]);

/** What is wrong in the settings when Redis answered but refused us; null for a plain outage. */
function misconfiguration(err: Error): string | null {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  if (/^(WRONGPASS|NOAUTH|NOPERM)\b/.test(err.message)) return 'Redis refused the user or password';
  if (TLS_CODES.has(code)) return "Redis's TLS certificate cannot be checked; give its CA in redisCaFile";
  return null;
}
