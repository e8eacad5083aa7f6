import type { Redis, RedisOptions } from 'ioredis';
import { redisIfConnected } from './if-connected';

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
  readonly #onSubscribed = new Set<() => void>();

  constructor(
    private readonly source: Redis,
    options: RedisOptions,
    onError: (err: Error) => void,
  ) {
    this.client = source.duplicate({ ...options, autoResubscribe: false });
    this.client.on('error', onError);
    this.client.on('ready', () => {
      if (this.#channels.size > 0) this.client.subscribe(...this.#channels).then(() => this.#subscribed(), onError);
    });
  }

  /** Called each time the channels were subscribed to after a connect: a service that started without Redis is whole again. */
  onSubscribed(listener: () => void): void {
    this.#onSubscribed.add(listener);
  }

  /** Subscribes now (waiting for Redis while it reconnects; rejects if it cannot be reached) and after every reconnect. */
  async subscribe(...channels: string[]): Promise<void> {
    for (const channel of channels) this.#channels.add(channel);
    await this.client.subscribe(...channels);
    this.#subscribed();
  }

  /**
   * As `subscribe`, for a service's start, which must not wait on Redis: rejects with
   * PH_REDIS_UNAVAILABLE at once when `source` (the node's client) is not connected, or after the
   * Redis deadline when it does not answer; the channels are then subscribed to once it is back.
   */
  async subscribeAtStart(...channels: string[]): Promise<void> {
    for (const channel of channels) this.#channels.add(channel);
    await redisIfConnected(this.source, this.client.subscribe(...channels), 'subscribe');
    this.#subscribed();
  }

  #subscribed(): void {
    for (const listener of this.#onSubscribed) listener();
  }

  unsubscribe(...channels: string[]): void {
    for (const channel of channels) this.#channels.delete(channel);
    this.client.unsubscribe(...channels).catch(() => undefined);
  }
}
