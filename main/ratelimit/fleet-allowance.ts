import { allowed, refused, type RateDecision } from './decision';
import type { Grant, RedisReservations } from './redis-reservations';
import type { RateTier } from './tier-store';

/** What this node holds of one subject's fleet budget for the current window. */
interface Allowance {
  /** Granted by Redis and not spent here yet. */
  left: number;
  /** When the fleet window ends: what is left is dropped then. */
  end: number;
  /** The fleet's unreserved requests at the last grant (for the `RateLimit` header's `r`). */
  fleetLeft: number;
  /** The next reservation's size: 1 for a subject's first in a window, then doubling up to the cap. */
  next: number;
  /** Redis had nothing left (main window and burst spent): refuse here without asking until then. */
  spentUntil: number;
  pending: Promise<void> | null;
}

/** A node reserves at most this share of a tier's limit at once... */
export const BATCH_SHARE = 0.02;
/** ...and never more than this many requests. */
export const BATCH_MAX = 1_000;

/** The largest reservation for a tier: also the most one node can hold unspent (see docs/rate-limits.md). */
export function batchCap(tier: RateTier): number {
  return Math.max(1, Math.min(BATCH_MAX, Math.floor((tier.limit ?? 0) * BATCH_SHARE)));
}

/**
 * One tier's fleet budget as this node spends it: requests are counted against an allowance
 * reserved from Redis in batches (1, 2, 4… up to 2% of the limit, at most 1,000), so a busy key
 * costs a Redis round trip per batch rather than per request, and a request with allowance left is
 * decided without waiting. Redis never grants more than `limit` (+ `burst`) a window fleet-wide, so
 * the fleet never admits more; what one node holds unspent cannot serve another, so a key may be
 * refused up to `batchCap` requests early per other node it is also calling.
 */
export class FleetAllowance {
  readonly #allowances = new Map<string, Allowance>();
  readonly #cap: number;
  #sweepAt = 0;

  constructor(
    readonly tier: RateTier,
    private readonly redis: RedisReservations,
  ) {
    this.#cap = batchCap(tier);
  }

  /** The decision when it needs no round trip to Redis, else null (then `refill`, and take again). */
  take(subject: string, now: number): RateDecision | null {
    const a = this.#allowances.get(subject);
    if (a === undefined || a.pending !== null) return null;
    if (now >= a.end) {
      a.left = 0;
      a.next = 1;
      a.spentUntil = 0;
      return null;
    }
    if (a.left > 0) {
      a.left -= 1;
      return allowed(this.tier, a.fleetLeft + a.left, a.end - now);
    }
    return now < a.spentUntil ? refused(this.tier, a.spentUntil - now) : null;
  }

  /**
   * Reserves the next batch for a subject; callers that find one already under way wait for it.
   * Rejects when Redis errs or is late (the caller counts locally instead).
   */
  refill(subject: string, now: number): Promise<void> {
    if (now >= this.#sweepAt) this.#sweep(now);
    let a = this.#allowances.get(subject);
    if (a === undefined) {
      a = { left: 0, end: 0, fleetLeft: 0, next: 1, spentUntil: 0, pending: null };
      this.#allowances.set(subject, a);
    }
    if (a.pending !== null) return a.pending;
    const held = a;
    const want = Math.min(held.next, this.#cap);
    held.pending = this.redis
      .reserve(this.tier, subject, want)
      .then((grant) => this.#apply(held, grant, now))
      .finally(() => {
        held.pending = null;
      });
    return held.pending;
  }

  #apply(a: Allowance, grant: Grant, now: number): void {
    // Reserving starts when nothing is left here, so the grant is all there is (\`now\` is when it was asked for: the end errs early).
    a.end = now + grant.mainTtlMs;
    a.left += grant.granted;
    a.fleetLeft = Math.max(0, (this.tier.limit ?? 0) - grant.mainUsed);
    a.next = Math.min(this.#cap, a.next * 2);
    a.spentUntil = grant.granted > 0 ? 0 : now + (grant.burstTtlMs > 0 ? Math.min(grant.mainTtlMs, grant.burstTtlMs) : grant.mainTtlMs);
  }

  /** Once a window: forget subjects whose window has ended. */
  #sweep(now: number): void {
    for (const [subject, a] of this.#allowances) if (a.pending === null && a.end <= now) this.#allowances.delete(subject);
    this.#sweepAt = now + this.tier.windowSeconds * 1000;
  }
}
