import type { Caller } from '../core';
import type { RateDecision, RateLimits } from './limiter';
import type { TierStore } from './tier-store';

/**
 * One budget per caller, whatever door it comes through: a key's HTTP requests and its WebSocket
 * frames spend the same tier's budget (`key:<id>`, counted in Redis when configured, so for the
 * whole fleet). A session token spends its key's. A caller without a key (the local console's own
 * session) is on the unlimited tier. `points` is what one use weighs: 1, or more for a costly
 * GraphQL query.
 */
export function callerBudget(limits: RateLimits, tiers: TierStore): (caller: Caller, points?: number) => Promise<RateDecision> {
  return (caller, points = 1) =>
    caller.keyId !== null
      ? limits.consume(`key:${caller.keyId}`, tiers.tierFor(caller.keyId, caller.role), points)
      : limits.consume('local', tiers.get('unlimited'), points);
}
