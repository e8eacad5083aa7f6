import type { Clock } from '../../main/clock';

/** A clock the test moves by hand. */
export function fakeClock(start = Date.UTC(2026, 10, 24, 6, 0, 0)): Clock & { advance(ms: number): void; set(ms: number): void } {
  let now = start;
  return {
    now: () => now,
    advance(ms) {
      now += ms;
    },
    set(ms) {
      now = ms;
    },
  };
}
