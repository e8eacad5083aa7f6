import type { Redis } from 'ioredis';
import { Gauge, type Registry } from 'prom-client';
import type { Clock } from '../clock';
import type { Logger } from '../logger';
import { withRedisDeadline } from '../redis';
import type { Service, ServiceState } from '../service';
import { redisTrouble } from './redis-trouble';
import { DEFAULT_MAX_AGE_MS } from './seal';

export interface ClockSkewOptions {
  /** How often the clock is compared with Redis's (and after every reconnect). Default 30 s. */
  readonly checkMs?: number;
  /** The seal's age window: a message older or earlier than this is refused. Default 30 s. */
  readonly maxAgeMs?: number;
}

/**
 * Compares this node's clock with Redis's (`TIME`), at start and now and then. Nodes stamp what they
 * send each other with their own clock and refuse what is older, or further ahead, than the seal's
 * age window, so a node whose clock is off drops the fleet's messages (a cache invalidation, a
 * registry change) and has its own dropped, with nothing else to show for it. Redis is the one clock
 * every node can read: a node within half the window of it is within the window of every other
 * such node. Beyond that this service is degraded, naming the skew; the skew is the gauge
 * `pilothouse_fleet_clock_skew_seconds` (this node's clock minus Redis's).
 */
export class ClockSkewWatch implements Service {
  readonly name = 'fleet-clock';
  readonly #checkMs: number;
  readonly #boundMs: number;
  readonly #windowMs: number;
  readonly #gauge: Gauge;
  #skewMs: number | null = null;
  #error: string | null = null;
  #timer: NodeJS.Timeout | null = null;
  #state: ServiceState = 'idle';
  #checking: Promise<void> | null = null;
  readonly #onReady = (): void => void this.check();

  constructor(
    private readonly client: Redis,
    private readonly clock: Clock,
    private readonly logger: Logger,
    registry: Registry,
    options: ClockSkewOptions = {},
  ) {
    this.#checkMs = options.checkMs ?? 30_000;
    this.#windowMs = options.maxAgeMs ?? DEFAULT_MAX_AGE_MS;
    this.#boundMs = this.#windowMs / 2;
    this.#gauge =
      (registry.getSingleMetric('pilothouse_fleet_clock_skew_seconds') as Gauge | undefined) ??
      new Gauge({
        name: 'pilothouse_fleet_clock_skew_seconds',
        help: "This node's clock minus Redis's (TIME), in seconds, as last measured: beyond half the fleet's message age window nodes start to drop each other's messages",
        registers: [registry],
      });
  }

  async start(): Promise<void> {
    this.#state = 'starting';
    await this.check();
    this.client.on('ready', this.#onReady);
    this.#timer = setInterval(() => void this.check(), this.#checkMs);
    this.#timer.unref();
    this.#state = 'running';
  }

  async stop(): Promise<void> {
    this.client.off('ready', this.#onReady);
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    await this.#checking;
    this.#state = 'stopped';
  }

  /** This node's clock minus Redis's, in ms, as last measured (null: not measured yet). */
  get skewMs(): number | null {
    return this.#skewMs;
  }

  /** Whether the skew is beyond what the fleet's messages tolerate. */
  get skewed(): boolean {
    return this.#skewMs !== null && Math.abs(this.#skewMs) > this.#boundMs;
  }

  status(): { state: ServiceState; detail?: string } {
    if (this.#state !== 'running') return { state: this.#state };
    if (this.skewed) return { state: 'degraded', detail: this.describe() };
    if (this.#skewMs === null) return { state: 'running', detail: `not measured yet (redis: ${this.#error ?? 'not connected'})` };
    return { state: 'running', detail: this.describe() };
  }

  /** The skew in words, for the status and the log. */
  describe(): string {
    const skew = this.#skewMs ?? 0;
    const seconds = (Math.abs(skew) / 1000).toFixed(1);
    const side = skew >= 0 ? 'ahead of' : 'behind';
    if (!this.skewed) return `clock ${seconds} s ${side} Redis's`;
    return `this node's clock is ${seconds} s ${side} Redis's: nodes refuse each other's messages stamped more than ${this.#windowMs / 1000} s away from their own clock (cache invalidations and values, registry changes, job liveness), so keep every node's clock in sync (NTP)`;
  }

  /** Measures now; at most one measurement at a time. */
  check(): Promise<void> {
    this.#checking ??= this.#measure().finally(() => {
      this.#checking = null;
    });
    return this.#checking;
  }

  async #measure(): Promise<void> {
    if (this.client.status !== 'ready') return;
    let skewMs: number;
    try {
      const sent = performance.now();
      const [seconds, micros] = await withRedisDeadline(this.client.time(), 'the clock check');
      const halfTrip = (performance.now() - sent) / 2;
      // Redis read its clock about half the round trip before the reply arrived.
      skewMs = Math.round(this.clock.now() - (Number(seconds) * 1000 + Number(micros) / 1000 + halfTrip));
      this.#error = null;
    } catch (err) {
      this.#error = redisTrouble(err);
      return;
    }
    const was = this.skewed;
    this.#skewMs = skewMs;
    this.#gauge.set(skewMs / 1000);
    if (this.skewed && !was) this.logger.error({ skewMs }, this.describe());
    else if (was && !this.skewed) this.logger.info({ skewMs }, "this node's clock agrees with Redis's again");
  }
}
