import { allowed, BURST_WINDOWS, refused, type RateDecision } from './decision';
import type { RateTier } from './tier-store';

interface Slot {
  mainEnd: number;
  mainUsed: number;
  burstEnd: number;
  burstUsed: number;
}

/**
 * One tier's counts in this process: per subject a fixed window of `limit` requests, then up to
 * `burst` more that refill over ten windows (what rate-limiter-flexible's `BurstyRateLimiter` over
 * two fixed-window limiters did). Hand-written, like the hub's token bucket: the library answers
 * every call with a promise chain, which cost a third of a cheap route's throughput
 * (bench/webhooks); here a request is a map lookup and two comparisons, with no promise or timer,
 * and no allocation after a subject's first request but the decision itself.
 */
export class LocalWindows {
  readonly #slots = new Map<string, Slot>();
  readonly #windowMs: number;
  #sweepAt = 0;

  constructor(readonly tier: RateTier) {
    this.#windowMs = tier.windowSeconds * 1000;
  }

  take(subject: string, now: number): RateDecision {
    const limit = this.tier.limit ?? 0;
    const slot = this.#slot(subject, now);
    if (slot.mainUsed < limit) {
      slot.mainUsed += 1;
      return allowed(this.tier, limit - slot.mainUsed, slot.mainEnd - now);
    }
    if (slot.burstUsed < this.tier.burst) {
      slot.burstUsed += 1;
      return allowed(this.tier, 0, slot.mainEnd - now);
    }
    // The first window to end frees a request: the main one, or the burst's when the tier has one.
    const retry = this.tier.burst > 0 ? Math.min(slot.mainEnd, slot.burstEnd) : slot.mainEnd;
    return refused(this.tier, retry - now);
  }

  /** What a subject has spent of its current window, without counting a request. */
  used(subject: string, now: number): { used: number; resetSeconds: number } {
    const slot = this.#slots.get(subject);
    if (slot === undefined || slot.mainEnd <= now) return { used: 0, resetSeconds: 0 };
    return { used: slot.mainUsed, resetSeconds: Math.ceil((slot.mainEnd - now) / 1000) };
  }

  #slot(subject: string, now: number): Slot {
    if (now >= this.#sweepAt) this.#sweep(now);
    let slot = this.#slots.get(subject);
    if (slot === undefined) {
      slot = { mainEnd: now + this.#windowMs, mainUsed: 0, burstEnd: now + this.#windowMs * BURST_WINDOWS, burstUsed: 0 };
      this.#slots.set(subject, slot);
      return slot;
    }
    if (slot.mainEnd <= now) {
      slot.mainEnd = now + this.#windowMs;
      slot.mainUsed = 0;
    }
    if (slot.burstEnd <= now) {
      slot.burstEnd = now + this.#windowMs * BURST_WINDOWS;
      slot.burstUsed = 0;
    }
    return slot;
  }

  /** Once a window: forget subjects whose windows have all ended (anonymous addresses come and go). */
  #sweep(now: number): void {
    for (const [subject, slot] of this.#slots) if (slot.mainEnd <= now && slot.burstEnd <= now) this.#slots.delete(subject);
    this.#sweepAt = now + this.#windowMs;
  }
}
