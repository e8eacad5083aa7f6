/** Time as the services see it; tests pass a fake one. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/**
 * For spans of time only (a rate-limit window): it runs on when the wall clock is stepped (NTP, an
 * operator's `date`), so a step back an hour cannot hold a window shut for that hour. Its zero is
 * arbitrary: never store its readings or compare them with wall times.
 */
export const monotonicClock: Clock = { now: () => performance.now() };
