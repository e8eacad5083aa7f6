import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../logger';
import type { Service, ServiceState } from '../service';

/**
 * The one ioredis client the node shares (cache L2, backplane, counters, queues each duplicate it
 * for blocking or subscriber use). Redis is optional: when it is down Pilothouse keeps running, and
 * this service reports `degraded` until it reconnects.
 */
export class RedisConnection implements Service {
  readonly name = 'redis';
  readonly client: Redis;
  #stopping = false;

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
    this.client.on('error', (err: Error) => {
      if (!this.#stopping) this.logger.warn({ err: err.message }, 'redis connection error');
    });
  }

  async start(): Promise<void> {
    try {
      await this.client.connect();
    } catch (err) {
      // Not fatal: ioredis keeps retrying, and the node runs single-machine until it is back.
      this.logger.warn({ err: (err as Error).message }, 'redis not reachable at start; retrying in the background');
    }
  }

  async stop(): Promise<void> {
    this.#stopping = true;
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
    if (this.client.status === 'ready') return { state: 'running' };
    if (this.client.status === 'wait') return { state: 'idle' };
    return { state: 'degraded', detail: `redis ${this.client.status}` };
  }
}
