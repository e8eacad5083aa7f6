import type { Caller } from '../core';
import type { RateDecision } from './decision';
import type { RateLimits } from './limiter';
import { UNLIMITED_TIER, type RateTier, type TierStore } from './tier-store';

/** Whose budget a caller spends, and on which tier: its key's (`key:<id>`), or the unlimited tier for a caller without a key. */
export function callerSubject(caller: Caller, tiers: TierStore): { subject: string; tier: RateTier } {
  return caller.keyId !== null
    ? { subject: `key:${caller.keyId}`, tier: tiers.tierFor(caller.keyId, caller.keyRole ?? caller.role) }
    : { subject: 'local', tier: tiers.get(UNLIMITED_TIER) };
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

/**
 * Spends `points` requests of a caller's budget at once, for a use that weighs more than one
 * request (a costly GraphQL query), one by one and stopping at the first refused.
 */
export function callerCharge(limits: RateLimits, tiers: TierStore): (caller: Caller, points: number) => Promise<RateDecision> {
  return async (caller, points) => {
    const { subject, tier } = callerSubject(caller, tiers);
    let decision = await limits.consume(subject, tier);
    for (let spent = 1; spent < points && decision.allowed; spent += 1) decision = await limits.consume(subject, tier);
    return decision;
  };
}
