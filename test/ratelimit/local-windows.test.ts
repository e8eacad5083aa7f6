import { afterEach, describe, expect, it, vi } from 'vitest';
import { RateLimits } from '../../main/ratelimit';

const tier = { name: 'small', limit: 3, windowSeconds: 60, burst: 2 };

describe('counting in memory', () => {
  const fakeClock = () => {
    let t = 1_000_000;
    return { now: () => t, advance: (ms: number) => (t += ms) };
  };

  it('allows the limit, then the burst, then refuses until the first window that frees a request ends', () => {
    const clock = fakeClock();
    const limits = new RateLimits(null, clock);
    const decisions = Array.from({ length: 6 }, () => limits.tryConsume('key:a', tier));
    expect(decisions.map((d) => d?.allowed)).toEqual([true, true, true, true, true, false]);
    expect(decisions.map((d) => d?.remaining)).toEqual([2, 1, 0, 0, 0, 0]);
    expect(decisions[5]?.resetSeconds).toBe(60);

    clock.advance(61_000);
    // A new main window: three more; the burst (ten windows) is still spent.
    const next = Array.from({ length: 4 }, () => limits.tryConsume('key:a', tier)?.allowed);
    expect(next).toEqual([true, true, true, false]);
    expect(limits.tryConsume('key:b', tier)?.allowed).toBe(true);
  });

  it('answers without a promise in memory, and reports what a subject used of its window', async () => {
    const clock = fakeClock();
    const limits = new RateLimits(null, clock);
    for (let i = 0; i < 2; i += 1) expect(limits.tryConsume('ip:10.0.0.1', tier)).not.toBeNull();
    clock.advance(20_000);
    expect(await limits.peek('ip:10.0.0.1', tier)).toEqual({ used: 2, resetSeconds: 40 });
    expect(limits.backend()).toBe('memory');
  });

  it('starts a tier whose numbers changed afresh, and keeps an unlimited tier out of counting', () => {
    const clock = fakeClock();
    const limits = new RateLimits(null, clock);
    for (let i = 0; i < 5; i += 1) limits.tryConsume('key:a', tier);
    expect(limits.tryConsume('key:a', tier)?.allowed).toBe(false);
    expect(limits.tryConsume('key:a', { ...tier, limit: 10 })).toMatchObject({ allowed: true, remaining: 9 });
    expect(limits.tryConsume('local', { name: 'unlimited', limit: null, windowSeconds: 60, burst: 0 })).toMatchObject({
      allowed: true,
      limit: null,
    });
  });
});

describe('counting on the real clock', () => {
  afterEach(() => vi.useRealTimers());

  it('reopens a spent window when its time has run, though the wall clock was stepped back an hour meanwhile', async () => {
    const second = { name: 'per-second', limit: 2, windowSeconds: 1, burst: 0 };
    const limits = new RateLimits(null);
    expect([1, 2, 3].map(() => limits.tryConsume('key:a', second)?.allowed)).toEqual([true, true, false]);
    // An NTP step or an operator's `date`: only Date moves; timers and the monotonic clock run on.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() - 3_600_000);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect(limits.tryConsume('key:a', second)?.allowed).toBe(true);
  });
});
