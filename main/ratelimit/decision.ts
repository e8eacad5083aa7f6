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

/** A tier's burst refills over this many of its windows. */
export const BURST_WINDOWS = 10;

export function allowed(tier: RateTier, remaining: number, resetMs: number): RateDecision {
  return {
    tier: tier.name,
    allowed: true,
    limit: tier.limit,
    windowSeconds: tier.windowSeconds,
    remaining,
    resetSeconds: Math.max(0, Math.ceil(resetMs / 1000)),
  };
}

/** `retryMs`: until the first of the tier's windows (main or burst) that frees a request ends. */
export function refused(tier: RateTier, retryMs: number): RateDecision {
  return {
    tier: tier.name,
    allowed: false,
    limit: tier.limit,
    windowSeconds: tier.windowSeconds,
    remaining: 0,
    resetSeconds: Math.max(1, Math.ceil(retryMs / 1000)),
  };
}

export function unlimited(tier: RateTier): RateDecision {
  return { tier: tier.name, allowed: true, limit: null, windowSeconds: tier.windowSeconds, remaining: 0, resetSeconds: 0 };
}

/**
 * draft-ietf-httpapi-ratelimit-headers: `RateLimit-Policy: "free";q=300;w=60` beside
 * `RateLimit: "free";r=299;t=41`. An unlimited tier has no quota to state, so it sends neither.
 */
export function policyHeader(d: RateDecision): string | null {
  return d.limit === null ? null : `"${d.tier}";q=${d.limit};w=${d.windowSeconds}`;
}

/** The `RateLimit` header's value for a decision: what is left of the window and when it resets. */
export function remainingHeader(d: RateDecision): string {
  return `"${d.tier}";r=${d.remaining};t=${d.resetSeconds}`;
}
