import type { Redis } from 'ioredis';

export interface RedisProbeOptions {
  /** How often a PING is sent. Default 1 s. */
  readonly intervalMs?: number;
  /** A PING unanswered this long means Redis does not answer. Default 1 s. */
  readonly timeoutMs?: number;
}

/**
 * Whether Redis answers, for the statuses of the services that ride on it. ioredis says `ready` for
 * a server that was stopped (SIGSTOP, a hung host): the socket stays open and commands wait. So a
 * PING goes out on a timer, one at a time, and a PING unanswered past the timeout makes Redis read
 * as not answering, as a refused connection does, until one is answered again.
 */
export class RedisProbe {
  readonly #intervalMs: number;
  readonly #timeoutMs: number;
  #timer: NodeJS.Timeout | null = null;
  /** When the PING in flight was sent; null when none is. */
  #sentAt: number | null = null;

  constructor(
    private readonly client: Redis,
    options: RedisProbeOptions = {},
  ) {
    this.#intervalMs = options.intervalMs ?? 1_000;
    this.#timeoutMs = options.timeoutMs ?? 1_000;
  }

  start(): void {
    this.#ping();
    this.#timer = setInterval(() => this.#ping(), this.#intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** Null while Redis answers; else why not, in words a status may show. */
  trouble(): string | null {
    if (this.client.status !== 'ready') return `redis ${this.client.status}`;
    if (this.#sentAt !== null && performance.now() - this.#sentAt > this.#timeoutMs) {
      return `redis does not answer (PING unanswered for ${Math.round(performance.now() - this.#sentAt)} ms)`;
    }
    return null;
  }

  get answering(): boolean {
    return this.trouble() === null;
  }

  #ping(): void {
    // One at a time: a hung server would otherwise collect a PING a second until it is back.
    if (this.#sentAt !== null || this.client.status !== 'ready') return;
    this.#sentAt = performance.now();
    void this.client
      .ping()
      .catch(() => undefined)
      .finally(() => {
        this.#sentAt = null;
      });
  }
}
