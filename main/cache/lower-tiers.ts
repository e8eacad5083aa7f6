import type { CacheCore } from './cache-core';
import type { NamespaceStats } from './cache-stats';
import type { ReadFence } from './read-fence';
import type { StoredEntry } from './sqlite-tier';

/** What the read path below L1 needs of its namespace; the namespace builds it once. */
export interface TierAccess {
  readonly name: string;
  readonly core: CacheCore;
  readonly stats: NamespaceStats;
  readonly fence: ReadFence;
  readonly putL1: (key: string, value: unknown, e: StoredEntry) => void;
  /** Counts a hit towards the hot keys (sampled). */
  readonly touchHot: (key: string) => void;
}

export interface LowerRead {
  fresh?: unknown;
  stale?: { value: unknown; staleUntil: number };
  failed: boolean;
}

/** L2 then L3; a fresh hit is promoted to the tiers above. Never throws: a failed tier is skipped. */
export async function readLower(tiers: TierAccess, key: string): Promise<LowerRead> {
  const { name, core, stats, fence, putL1, touchHot } = tiers;
  let failed = false;
  let stale: { value: unknown; staleUntil: number } | undefined;
  const { l2, l3 } = core;
  if (l2 !== null) {
    if (l2.link.available) {
      const t0 = performance.now();
      const began = fence.begin(key);
      try {
        const e = await l2.get(name, key, core.now());
        stats.record('l2', performance.now() - t0);
        const now = core.now();
        if (e !== null && e.staleUntil > now) {
          const value = core.serializer.decode(e.bytes);
          if (e.freshUntil > now) {
            stats.l2Hits += 1;
            touchHot(key);
            // The reply answers this read (it was current when the read began) but is not kept if
            // the key was invalidated meanwhile: the next read goes to Redis again.
            if (!fence.changedSince(key, began)) putL1(key, value, e);
            return { fresh: value, failed };
          }
          stale = { value, staleUntil: e.staleUntil };
        }
      } catch {
        stats.l2Errors += 1;
        failed = true;
      } finally {
        fence.end(key);
      }
    } else {
      failed = true;
    }
  }
  if (l3 !== null) {
    const t0 = performance.now();
    const e = l3.get(name, key);
    stats.record('l3', performance.now() - t0);
    const now = core.now();
    if (e !== null && e.staleUntil > now) {
      const value = core.serializer.decode(e.bytes);
      if (e.freshUntil > now) {
        stats.l3Hits += 1;
        touchHot(key);
        putL1(key, value, e);
        if (l2 !== null && l2.link.available) {
          l2.promote(name, key, { ...e, value }, now).catch(() => {
            stats.l2Errors += 1;
          });
        }
        return { fresh: value, failed };
      }
      if (stale === undefined || e.staleUntil > stale.staleUntil) stale = { value, staleUntil: e.staleUntil };
    }
  }
  return stale === undefined ? { failed } : { stale, failed };
}

/**
 * One loader run per fleet through a lease in Redis: the holder runs `run`, the others wait for its
 * value in L2 (or for the lease to free up, or its deadline). Without Redis, this node loads alone.
 */
export async function loadUnderLease(
  tiers: TierAccess,
  key: string,
  hardTimeout: number | undefined,
  run: () => Promise<unknown>,
): Promise<unknown> {
  const { name, core, fence } = tiers;
  const l2 = core.l2;
  if (l2 === null || !l2.link.available) return run();
  const leaseMs = Math.max(core.leaseMs, hardTimeout ?? 0);
  const deadline = core.now() + leaseMs;
  let delay = 5;
  for (let attempt = 0; ; attempt += 1) {
    // A failed Redis call is retried while the link still counts as available (one slow reply
    // under load should not double the loader calls); once the breaker opens or the connection
    // drops, this node loads on its own rather than wait.
    let token: string | null;
    try {
      token = await l2.acquireLease(name, key, leaseMs);
    } catch {
      if (!l2.link.available || core.now() >= deadline) return run();
      token = null;
    }
    if (token !== null) {
      try {
        if (attempt > 0) {
          // Someone held the lease before us: their value may be in L2 already.
          const began = fence.begin(key);
          const e = await l2
            .get(name, key, core.now())
            .catch(() => null)
            .finally(() => fence.end(key));
          if (e !== null && e.freshUntil > core.now()) return acceptRemote(tiers, key, e, began);
        }
        return await run();
      } finally {
        l2.releaseLease(name, key, token).catch(() => undefined);
      }
    }
    // Another node is loading: wait for its value in L2, or for the lease to free up.
    await sleep(delay);
    delay = Math.min(50, delay * 2);
    const began = fence.begin(key);
    try {
      const e = await l2.get(name, key, core.now());
      if (e !== null && e.freshUntil > core.now()) return acceptRemote(tiers, key, e, began);
    } catch {
      if (!l2.link.available) return run();
    } finally {
      fence.end(key);
    }
    if (core.now() >= deadline) return run();
  }
}

/** A value another node loaded: kept in L1 and L3 unless the key was invalidated while it was read. */
function acceptRemote(tiers: TierAccess, key: string, e: StoredEntry, began: number): unknown {
  const { name, core, stats, fence, putL1 } = tiers;
  const value = core.serializer.decode(e.bytes);
  stats.l2Hits += 1;
  if (fence.changedSince(key, began)) return value;
  putL1(key, value, e);
  core.l3?.fill(name, key, e);
  return value;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
