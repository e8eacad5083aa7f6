import CircuitBreaker from 'opossum';
import type { Redis } from 'ioredis';
import type { Logger } from '../logger';
import { Subscriber, withRedisDeadline } from '../redis';
import { LoopStallWatch } from './loop-stall';

export type RedisLinkState = 'connecting' | 'up' | 'breaker-open' | 'down' | 'stopped';

export interface RedisLinkOptions {
  readonly commandTimeoutMs: number;
  /** The writer connection's command timeout (writes, deletes, invalidations). */
  readonly writeTimeoutMs: number;
  readonly breakerResetMs: number;
}

/** Of a write's time on the writer connection, the part Redis may still apply it in (the rest is the reply's way back). */
const WRITE_APPLY_SHARE = 0.75;
/** How long a measure of Redis's clock is trusted before it is taken again. */
const CLOCK_SYNC_MS = 30_000;

/**
 * The cache's own connections to Redis, duplicated from the node's shared client: one for reads
 * (short `commandTimeout`, no offline queue, so a dead or black-holed Redis fails a call within the
 * timeout instead of hanging it), one for changes (a longer timeout: a write refused on a healthy
 * but busy machine is a 503 the client must retry, and 100 ms refused ~5% of 25 parallel writes on
 * three nodes) and one for the bus subscription. Every command goes through an
 * opossum circuit breaker: once calls fail or time out, it opens and calls are refused at once
 * (the cache answers from L1/L3) until a trial call succeeds.
 */
export class RedisLink {
  readonly cmd: Redis;
  /** Writes, deletes and invalidations, in the order they were made, with `writeTimeoutMs`. */
  readonly writer: Redis;
  /** Redis's clock minus ours (ms), measured low (see #syncClock), and when it was measured. */
  #clockOffset: { ms: number; at: number } | null = null;
  /** The bus connection: resubscribes itself after a reconnect (see Subscriber for why not ioredis's). */
  readonly bus: Subscriber;
  readonly #breaker: CircuitBreaker<[(r: Redis) => Promise<unknown>, Redis?], unknown>;
  #state: RedisLinkState = 'connecting';
  #stopped = false;
  readonly #listeners = new Set<(state: RedisLinkState) => void>();
  readonly #stalls = new LoopStallWatch();
  /** Times the breaker opened, for analytics. */
  breakerOpens = 0;
  failures = 0;

  constructor(
    shared: Redis,
    private readonly options: RedisLinkOptions,
    private readonly logger: Logger,
  ) {
    // Reconnect with exponential backoff and full jitter, so nodes do not reconnect in lockstep.
    const retryStrategy = (attempt: number): number =>
      Math.round(Math.min(2000, 50 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random() / 2));
    const direct = { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, connectTimeout: 1000, retryStrategy };
    this.cmd = shared.duplicate({ ...direct, commandTimeout: options.commandTimeoutMs });
    this.writer = shared.duplicate({ ...direct, commandTimeout: options.writeTimeoutMs });
    const onError = (err: Error): void => {
      if (!this.#stopped) this.logger.debug({ err: err.message }, 'cache redis connection error');
    };
    this.bus = new Subscriber(
      shared,
      { lazyConnect: true, enableOfflineQueue: true, maxRetriesPerRequest: null, connectTimeout: 1000, retryStrategy },
      onError,
    );
    this.cmd.on('error', onError);
    this.writer.on('error', onError);
    this.#breaker = new CircuitBreaker((op: (r: Redis) => Promise<unknown>, client?: Redis) => op(client ?? this.cmd), {
      // ioredis enforces the command timeout on every command; a second timer per call here would
      // only cost (every multi-command operation is made of separate `run` calls).
      timeout: false,
      errorThresholdPercentage: 50,
      volumeThreshold: 3,
      resetTimeout: options.breakerResetMs,
      rollingCountTimeout: 5000,
      rollingCountBuckets: 5,
      rollingPercentilesEnabled: false,
      enableSnapshots: false,
      name: 'cache-redis',
      // A timeout while our own loop was held (a reply left unread past its timer) says nothing of
      // Redis: the caller still gets its error and falls back, but the breaker does not count it.
      errorFilter: (err: unknown) =>
        err instanceof Error &&
        err.message === 'Command timed out' &&
        this.#stalls.stalledWithin(Math.max(options.commandTimeoutMs, options.writeTimeoutMs) * 2),
    });
    this.#breaker.on('open', () => {
      this.breakerOpens += 1;
      this.logger.warn('cache redis breaker opened; serving from L1/L3');
      this.#update();
    });
    this.#breaker.on('halfOpen', () => {
      this.#update();
      this.#breaker.fire((r) => r.ping()).catch(() => undefined);
    });
    this.#breaker.on('close', () => this.#update());
    // opossum opens on an error percentage over its rolling window, which a long run of earlier
    // successes dilutes; a black-holed Redis should trip it at once, so three failures in a row
    // (each at most one command timeout) open it too.
    let consecutive = 0;
    this.#breaker.on('failure', () => {
      this.failures += 1;
      consecutive += 1;
      if (consecutive >= 3 && this.#breaker.closed) this.#breaker.open();
    });
    this.#breaker.on('success', () => {
      consecutive = 0;
    });
    // A reconnect may reach another server (a failover), whose clock is measured anew.
    this.cmd.on('ready', () => {
      this.#clockOffset = null;
    });
    for (const client of [this.cmd, this.writer]) {
      client.on('ready', () => this.#update());
      client.on('close', () => this.#update());
      client.on('end', () => this.#update());
    }
  }

  get state(): RedisLinkState {
    return this.#state;
  }

  /** True when a command may be tried now: connected and the breaker not open. */
  get available(): boolean {
    return this.cmd.status === 'ready' && this.writer.status === 'ready' && this.#breaker.closed;
  }

  onState(listener: (state: RedisLinkState) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Runs one Redis operation through the breaker. Rejects at once when Redis is not connected or
   * the breaker is not closed: callers never wait on a dead Redis, and the half-open trial is a
   * background PING rather than somebody's read.
   */
  run<T>(op: (r: Redis) => Promise<T>): Promise<T> {
    if (this.#stopped) return Promise.reject(new Error('cache redis link stopped'));
    if (this.cmd.status !== 'ready') return Promise.reject(new Error(`redis ${this.cmd.status}`));
    if (!this.#breaker.closed) return Promise.reject(new Error('cache redis breaker open'));
    return this.#breaker.fire(op as (r: Redis) => Promise<unknown>) as Promise<T>;
  }

  /** Like `run`, on the writer connection. */
  write<T>(op: (r: Redis) => Promise<T>): Promise<T> {
    if (this.#stopped) return Promise.reject(new Error('cache redis link stopped'));
    if (this.writer.status !== 'ready') return Promise.reject(new Error(`redis writer ${this.writer.status}`));
    if (!this.#breaker.closed) return Promise.reject(new Error('cache redis breaker open'));
    return this.#breaker.fire(op as (r: Redis) => Promise<unknown>, this.writer) as Promise<T>;
  }

  /**
   * The last instant, on Redis's clock (ms), at which a write sent now may still be applied: past
   * it the caller may have given up (the writer's timeout), so the write's script refuses to apply
   * it. 0 (no deadline) only when Redis's clock cannot be read.
   */
  async writeDeadline(): Promise<number> {
    if (this.#clockOffset === null) await this.#syncClock().catch(() => undefined);
    else if (Date.now() - this.#clockOffset.at > CLOCK_SYNC_MS) {
      // Measured again for the next writes; this one goes with the last measure rather than wait.
      this.#clockOffset.at = Date.now();
      void this.#syncClock().catch(() => undefined);
    }
    if (this.#clockOffset === null) return 0;
    return Math.floor(Date.now() + this.#clockOffset.ms + this.options.writeTimeoutMs * WRITE_APPLY_SHARE);
  }

  /**
   * Reads Redis's clock (TIME). The offset is taken against our clock after the reply, so it errs
   * low by the round trip: a deadline made from it comes early, never late.
   */
  async #syncClock(): Promise<void> {
    const [seconds, micros] = await this.run((r) => r.time());
    const after = Date.now();
    this.#clockOffset = { ms: Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) - after, at: after };
  }

  async start(): Promise<void> {
    this.#stalls.start();
    // Not fatal when Redis is away: both clients keep retrying in the background. Bounded, as a
    // stopped server accepts the connection and never answers.
    await Promise.all([
      withRedisDeadline(this.cmd.connect(), 'cache connect').catch((err: Error) =>
        this.logger.warn({ err: err.message }, 'cache redis not reachable at start'),
      ),
      withRedisDeadline(this.writer.connect(), 'cache writer connect').catch(() => undefined),
      withRedisDeadline(this.bus.client.connect(), 'cache bus connect').catch(() => undefined),
    ]);
    this.#update();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#stalls.stop();
    this.#breaker.shutdown();
    for (const client of [this.cmd, this.writer, this.bus.client]) {
      if (client.status === 'end') continue;
      await Promise.race([client.quit().catch(() => undefined), new Promise((r) => setTimeout(r, 200))]);
      client.disconnect();
    }
    this.#update();
  }

  #update(): void {
    const next: RedisLinkState = this.#stopped
      ? 'stopped'
      : this.cmd.status !== 'ready' || this.writer.status !== 'ready'
        ? this.cmd.status === 'connecting' || this.cmd.status === 'wait'
          ? this.#state === 'connecting'
            ? 'connecting'
            : 'down'
          : 'down'
        : !this.#breaker.closed
          ? 'breaker-open'
          : 'up';
    if (next === this.#state) return;
    this.#state = next;
    for (const listener of this.#listeners) listener(next);
  }
}
