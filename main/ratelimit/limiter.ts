import type { Redis } from 'ioredis';
import { monotonicClock, type Clock } from '../clock';
import { unlimited, type RateDecision } from './decision';
import { FleetAllowance } from './fleet-allowance';
import { LocalWindows } from './local-windows';
import { RedisReservations } from './redis-reservations';
import type { RateTier } from './tier-store';

export type LimiterBackend = 'memory' | 'redis' | 'memory (Redis unreachable)';

/** A Redis answer slower than this (a black-holed server still looks connected) is not waited for. */
const REDIS_TIMEOUT_MS = 250;
/** Health reports local counting for this long after the last time the local count stood in. */
const FALLBACK_REPORT_MS = 10_000;
/** After Redis failed a reservation, requests count locally this long before one tries Redis again. */
const REDIS_RETRY_MS = 1_000;

/** One tier's counters, rebuilt when its numbers change. */
interface Counters {
  readonly tier: RateTier;
  readonly local: LocalWindows;
  readonly fleet: FleetAllowance | null;
  readonly unlimited: RateDecision;
}

/**
 * Counts requests per subject (`key:<id>`, `ip:<address>`, `local`) against its tier: in memory
 * without Redis; with Redis against the fleet's budget, reserved in batches (`FleetAllowance`), so
 * the limit holds for the whole fleet. Redis not ready, erring or slower than 250 ms: that request
 * is counted by this node alone (never a hang), and `backend()` says so for health. After such a
 * failure a breaker keeps every request on the local count for a second, then lets one request try
 * Redis (the others stay local meanwhile): a hung Redis costs one request 250 ms a second, not each.
 */
export class RateLimits {
  readonly #counters = new Map<string, Counters>();
  readonly #redis: RedisReservations | null;
  #lastStandIn = -Infinity;
  /** While the breaker is open: when one request may try Redis again; null while it is closed. */
  #retryAt: number | null = null;
  /** A request is trying Redis after the breaker opened: the others count locally until it knows. */
  #trying = false;

  constructor(
    redis: Redis | null,
    private readonly clock: Clock = monotonicClock,
  ) {
    this.#redis = redis === null ? null : new RedisReservations(redis, REDIS_TIMEOUT_MS);
  }

  backend(): LimiterBackend {
    if (this.#redis === null) return 'memory';
    const recentlyLocal = this.clock.now() - this.#lastStandIn < FALLBACK_REPORT_MS;
    return this.#redis.ready && !recentlyLocal ? 'redis' : 'memory (Redis unreachable)';
  }

  /**
   * The decision, when it can be made without waiting: always in memory, and with Redis while this
   * node holds allowance for the subject (or knows it is spent). Null: `consume` must ask Redis.
   */
  tryConsume(subject: string, tier: RateTier): RateDecision | null {
    const c = this.#countersFor(tier);
    if (c.tier.limit === null) return c.unlimited;
    const now = this.clock.now();
    if (c.fleet === null) return c.local.take(subject, now);
    if (this.#redis?.ready !== true || !this.#mayAskRedis(now)) return this.#standIn(c, subject, now);
    return c.fleet.take(subject, now);
  }

  /** The decision on this node's own count, never asking Redis: for health probes, which must answer while Redis does not. */
  consumeLocally(subject: string, tier: RateTier): RateDecision {
    const c = this.#countersFor(tier);
    if (c.tier.limit === null) return c.unlimited;
    return c.local.take(subject, this.clock.now());
  }

  async consume(subject: string, tier: RateTier): Promise<RateDecision> {
    const now = this.tryConsume(subject, tier);
    if (now !== null) return now;
    const c = this.#countersFor(tier);
    const fleet = c.fleet as FleetAllowance;
    const trial = this.#retryAt !== null;
    if (trial) this.#trying = true;
    try {
      // Each pass either spends a grant, learns the budget is spent, or gives up on Redis.
      for (;;) {
        try {
          await fleet.refill(subject, this.clock.now());
        } catch {
          this.#retryAt = this.clock.now() + REDIS_RETRY_MS;
          return this.#standIn(c, subject, this.clock.now());
        }
        this.#retryAt = null;
        const decided = fleet.take(subject, this.clock.now());
        if (decided !== null) return decided;
      }
    } finally {
      if (trial) this.#trying = false;
    }
  }

  /** What a subject has used of its current window (fleet-wide with Redis, reserved included), without counting a request. */
  async peek(subject: string, tier: RateTier): Promise<{ used: number; resetSeconds: number }> {
    if (tier.limit === null) return { used: 0, resetSeconds: 0 };
    const c = this.#countersFor(tier);
    if (this.#redis === null || !this.#mayAskRedis(this.clock.now())) return c.local.used(subject, this.clock.now());
    try {
      const { used, resetMs } = await this.#redis.peek(tier, subject);
      return { used, resetSeconds: Math.ceil(resetMs / 1000) };
    } catch {
      return c.local.used(subject, this.clock.now());
    }
  }

  /** The breaker: closed, or open past its retry time with no other request trying Redis. */
  #mayAskRedis(now: number): boolean {
    return this.#retryAt === null || (now >= this.#retryAt && !this.#trying);
  }

  #standIn(c: Counters, subject: string, now: number): RateDecision {
    this.#lastStandIn = now;
    return c.local.take(subject, now);
  }

  /** The tier store hands out the same object until a tier changes: one identity check a request. */
  #countersFor(tier: RateTier): Counters {
    const known = this.#counters.get(tier.name);
    if (known !== undefined && (known.tier === tier || sameNumbers(known.tier, tier))) return known;
    const built: Counters = {
      tier,
      local: new LocalWindows(tier),
      fleet: this.#redis === null || tier.limit === null ? null : new FleetAllowance(tier, this.#redis),
      unlimited: unlimited(tier),
    };
    this.#counters.set(tier.name, built);
    return built;
  }
}

const sameNumbers = (a: RateTier, b: RateTier): boolean =>
  a.limit === b.limit && a.windowSeconds === b.windowSeconds && a.burst === b.burst;
