/**
 * Tells whether this process's own event loop was held recently. A Redis command's timeout is a
 * timer, and after a long synchronous step Node runs due timers before it reads the sockets: a reply
 * Redis sent in time is then refused as a timeout. Such timeouts are ours, not Redis's, and must not
 * open the breaker (issue 21: a snapshot's work opened it in 8 of 10 snapshots). A heartbeat every
 * `tickMs` notes each stall; after a stall it runs before the command timers that expired with it
 * (Node fires timers in expiry order, and the heartbeat's came first).
 */
export class LoopStallWatch {
  #last = performance.now();
  #lastStall = Number.NEGATIVE_INFINITY;
  #timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly tickMs = 10,
    /** A heartbeat this much later than due is a stall. */
    private readonly stallMs = 40,
  ) {}

  start(): void {
    if (this.#timer !== null) return;
    this.#last = performance.now();
    this.#timer = setInterval(() => this.#beat(), this.tickMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** True when the loop is held now, or was within the last `windowMs`. */
  stalledWithin(windowMs: number): boolean {
    this.#beat();
    return performance.now() - this.#lastStall <= windowMs;
  }

  #beat(): void {
    const now = performance.now();
    if (this.#timer !== null && now - this.#last - this.tickMs > this.stallMs) this.#lastStall = now;
    this.#last = now;
  }
}
