/** Past this, retries wait no longer: a job is never parked for days by its own backoff. */
export const MAX_BACKOFF_MS = 60 * 60 * 1000;

/**
 * Delay before the next attempt after `attemptsMade` attempts: `base * 2^(attemptsMade-1)`, capped,
 * with "equal jitter" (half fixed, half random) so a burst of failures does not retry in lockstep
 * yet never retries sooner than half the nominal delay.
 */
export function backoffDelay(baseMs: number, attemptsMade: number, random: () => number = Math.random): number {
  if (baseMs <= 0) return 0;
  const nominal = Math.min(MAX_BACKOFF_MS, baseMs * 2 ** Math.max(0, attemptsMade - 1));
  return Math.round(nominal / 2 + random() * (nominal / 2));
}
