import type { Caller } from '../core';
import type { RateDecision } from './decision';
import type { RateLimits } from './limiter';
import type { RateTier, TierStore } from './tier-store';

/** Whose budget a caller spends, and on which tier: its key's (`key:<id>`), or the unlimited tier for a caller without a key. */
export function callerSubject(caller: Caller, tiers: TierStore): { subject: string; tier: RateTier } {
  return caller.keyId !== null
    ? { subject: `key:${caller.keyId}`, tier: tiers.tierFor(caller.keyId, caller.role) }
    : { subject: 'local', tier: tiers.get('unlimited') };
}

/**
 * One budget per caller, whatever door it comes through: a key's HTTP requests and its WebSocket
 * frames spend the same tier's budget (`key:<id>`, counted in Redis when configured, so for the
 * whole fleet). A session token spends its key's. A caller without a key (the local console's own
 * session) is on the unlimited tier.
 */
export function callerBudget(limits: RateLimits, tiers: TierStore): (caller: Caller) => Promise<RateDecision> {
  return (caller) => {
    const { subject, tier } = callerSubject(caller, tiers);
    return limits.consume(subject, tier);
  };
}
