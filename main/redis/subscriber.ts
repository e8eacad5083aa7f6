import type { Redis, RedisOptions } from 'ioredis';

/**
 * A pub/sub connection that subscribes again, itself, after every reconnect.
 *
 * ioredis 5 can do that (`autoResubscribe`), but fire-and-forget: when that SUBSCRIBE fails because
 * the connection dropped again, or was closed by our own stop(), its rejection has no handler, and
 * an unhandled rejection ends a Node process (redis/ioredis#2187, fixed after 5.11.1, the 5.x we
 * run). So the option is off here, the channels are tracked, and the resubscribe has a handler.
 */
export class Subscriber {
  readonly client: Redis;
  readonly #channels = new Set<string>();

  constructor(source: Redis, options: RedisOptions, onError: (err: Error) => void) {
    this.client = source.duplicate({ ...options, autoResubscribe: false });
    this.client.on('error', onError);
    this.client.on('ready', () => {
      if (this.#channels.size > 0) this.client.subscribe(...this.#channels).catch(onError);
    });
  }

  /** Subscribes now (rejects if Redis cannot be reached) and after every reconnect. */
  async subscribe(...channels: string[]): Promise<void> {
    for (const channel of channels) this.#channels.add(channel);
    await this.client.subscribe(...channels);
  }

  unsubscribe(...channels: string[]): void {
    for (const channel of channels) this.#channels.delete(channel);
    this.client.unsubscribe(...channels).catch(() => undefined);
  }
}
