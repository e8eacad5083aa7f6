import type { Clock } from '../clock';

/**
 * The current time, read from `source` at most once per `resolutionMs` of wall time. `Date.now()`
 * costs more than an lru-cache lookup on these machines, and an L1 hit needs the time to check
 * freshness; lru-cache does the same for its own TTLs (its `ttlResolution`). While the event loop
 * is held by synchronous work the time does not move, so an entry may be served up to that long
 * past its expiry. Fake clocks (tests) are read every time.
 */
export function coarseNow(source: Clock, coarse: boolean, resolutionMs: number): () => number {
  if (!coarse || resolutionMs <= 0) return () => source.now();
  let cached = 0;
  let fresh = false;
  const expire = (): void => {
    fresh = false;
  };
  return () => {
    if (fresh) return cached;
    cached = source.now();
    fresh = true;
    setTimeout(expire, resolutionMs).unref();
    return cached;
  };
}
