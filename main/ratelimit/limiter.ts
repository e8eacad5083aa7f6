import type { Redis } from 'ioredis';
import { BurstyRateLimiter, RateLimiterMemory, RateLimiterRedis, RateLimiterRes, RLWrapperTimeouts } from 'rate-limiter-flexible';
import type { RateTier } from './tier-store';

export interface RateDecision {
  readonly tier: string;
  readonly allowed: boolean;
  /** Null for an unlimited tier. */
  readonly limit: number | null;
  readonly windowSeconds: number;
  readonly remaining: number;
  readonly resetSeconds: number;
}

export type LimiterBackend = 'memory' | 'redis' | 'memory (Redis unreachable)';

/** A tier's limiter over a longer window for the burst: ten windows. */
const BURST_WINDOWS = 10;
/** A Redis answer slower than this (a black-holed server still looks connected) is not waited for. */
const REDIS_TIMEOUT_MS = 250;
/** Health reports local counting for this long after the last time the local limiter stood in. */
const FALLBACK_REPORT_MS = 10_000;

type Limiter = RateLimiterMemory | RLWrapperTimeouts;

interface Built {
  readonly signature: string;
  readonly limiter: BurstyRateLimiter;
  readonly main: Limiter;
}

/** The local limiter that stands in for Redis; it notes when it does, for health. */
class StandIn extends RateLimiterMemory {
  constructor(
    options: ConstructorParameters<typeof RateLimiterMemory>[0],
    private readonly used: () => void,
  ) {
    super(options);
  }

  override consume(...args: Parameters<RateLimiterMemory['consume']>): Promise<RateLimiterRes> {
    this.used();
    return super.consume(...args);
  }
}

/**
 * Counts requests per subject (`key:<id>` or `ip:<address>`) against its tier with
 * rate-limiter-flexible: in Redis when configured, so the budget holds for the whole fleet, in memory
 * otherwise. A Redis limiter that is not ready, errs, or takes longer than 250 ms hands the call to
 * a local in-memory one (`rejectIfRedisNotReady`, a timeout wrapper and its insurance): never a
 * hang, and `backend()` says so for health.
 */
export class RateLimits {
  readonly #built = new Map<string, Built>();
  #lastStandIn = -Infinity;

  constructor(private readonly redis: Redis | null) {}

  backend(): LimiterBackend {
    if (this.redis === null) return 'memory';
    const recentlyLocal = performance.now() - this.#lastStandIn < FALLBACK_REPORT_MS;
    return this.redis.status === 'ready' && !recentlyLocal ? 'redis' : 'memory (Redis unreachable)';
  }

  /** Counts `points` requests (1 but for work that weighs more, such as a costly GraphQL query). */
  async consume(subject: string, tier: RateTier, points = 1): Promise<RateDecision> {
    if (tier.limit === null) return unlimited(tier);
    const { limiter } = this.#limiterFor(tier);
    try {
      const res = await limiter.consume(subject, points);
      return decision(tier, true, res);
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) return decision(tier, false, rejection);
      // A store error the insurance did not absorb: let the request through rather than fail it.
      return { ...unlimited(tier), limit: tier.limit, remaining: tier.limit };
    }
  }

  /** What a subject has used of its current window, without counting a request. */
  async peek(subject: string, tier: RateTier): Promise<{ used: number; resetSeconds: number }> {
    if (tier.limit === null) return { used: 0, resetSeconds: 0 };
    try {
      const res = await this.#limiterFor(tier).main.get(subject);
      return res === null ? { used: 0, resetSeconds: 0 } : { used: res.consumedPoints, resetSeconds: Math.ceil(res.msBeforeNext / 1000) };
    } catch {
      return { used: 0, resetSeconds: 0 };
    }
  }

  #limiterFor(tier: RateTier): Built {
    const signature = `${tier.limit}/${tier.windowSeconds}/${tier.burst}`;
    const known = this.#built.get(tier.name);
    if (known !== undefined && known.signature === signature) return known;
    const points = tier.limit ?? 1;
    const main = this.#make(`ph:rl:${tier.name}`, points, tier.windowSeconds);
    const burst = this.#make(`ph:rl:${tier.name}:burst`, Math.max(tier.burst, 0), tier.windowSeconds * BURST_WINDOWS);
    const built = { signature, main, limiter: new BurstyRateLimiter(main, burst) };
    this.#built.set(tier.name, built);
    return built;
  }

  #make(keyPrefix: string, points: number, duration: number): Limiter {
    if (this.redis === null) return new RateLimiterMemory({ keyPrefix, points, duration });
    const standIn = new StandIn({ keyPrefix, points, duration }, () => {
      this.#lastStandIn = performance.now();
    });
    const redis = new RateLimiterRedis({ storeClient: this.redis, keyPrefix, points, duration, rejectIfRedisNotReady: true });
    return new RLWrapperTimeouts({ limiter: redis, timeoutMs: REDIS_TIMEOUT_MS, insuranceLimiter: standIn });
  }
}

function decision(tier: RateTier, allowed: boolean, res: RateLimiterRes): RateDecision {
  return {
    tier: tier.name,
    allowed,
    limit: tier.limit,
    windowSeconds: tier.windowSeconds,
    remaining: Math.max(0, res.remainingPoints),
    resetSeconds: Math.max(allowed ? 0 : 1, Math.ceil(res.msBeforeNext / 1000)),
  };
}

function unlimited(tier: RateTier): RateDecision {
  return { tier: tier.name, allowed: true, limit: null, windowSeconds: tier.windowSeconds, remaining: 0, resetSeconds: 0 };
}

const policies = new Map<string, string>();

/**
 * draft-ietf-httpapi-ratelimit-headers: `RateLimit-Policy: "free";q=300;w=60` (built once per tier
 * and numbers) beside `RateLimit: "free";r=299;t=41`. An unlimited tier has no quota to state, so
 * it sends neither.
 */
export function policyHeader(d: RateDecision): string | null {
  if (d.limit === null) return null;
  const key = `${d.tier}/${d.limit}/${d.windowSeconds}`;
  let policy = policies.get(key);
  if (policy === undefined) {
    policy = `"${d.tier}";q=${d.limit};w=${d.windowSeconds}`;
    policies.set(key, policy);
  }
  return policy;
}
