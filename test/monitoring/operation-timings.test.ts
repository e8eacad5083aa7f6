import { describe, expect, it } from 'vitest';
import { OperationTimings } from '../../main/monitoring';
import { fakeClock } from './fake-clock';

describe('operation timings', () => {
  it('reports count, errors, mean, percentiles, stddev, min and max of recorded calls', () => {
    const clock = fakeClock();
    const t = new OperationTimings(clock);
    for (let i = 1; i <= 100; i += 1) t.record('op:a', i, i % 10 !== 0, 'PH_INTERNAL');
    const s = t.statsOf('op:a');
    expect(s).not.toBeNull();
    expect(s?.count).toBe(100);
    expect(s?.errors).toBe(10);
    expect(s?.errorRatio).toBeCloseTo(0.1);
    expect(s?.meanMs).toBeCloseTo(50.5, 0);
    expect(s?.p50Ms).toBeGreaterThanOrEqual(49);
    expect(s?.p50Ms).toBeLessThanOrEqual(51); // recorded values, not wall clock
    expect(s?.p95Ms).toBeGreaterThanOrEqual(94);
    expect(s?.p95Ms).toBeLessThanOrEqual(96); // recorded values, not wall clock
    expect(s?.p99Ms).toBeGreaterThanOrEqual(98);
    expect(s?.p99Ms).toBeLessThanOrEqual(100.5); // recorded values, not wall clock
    expect(s?.stddevMs).toBeCloseTo(28.87, 0);
    expect(s?.minMs).toBeCloseTo(1, 1);
    expect(s?.maxMs).toBeGreaterThanOrEqual(99.5);
  });

  it('drops calls older than the window from window figures but keeps them in the totals', () => {
    const clock = fakeClock();
    const t = new OperationTimings(clock, { windowMs: 60_000, windowSlots: 6 });
    for (let i = 0; i < 10; i += 1) t.record('op:a', 5, true);
    clock.advance(30_000);
    for (let i = 0; i < 5; i += 1) t.record('op:a', 500, false, 'PH_UNAVAILABLE');
    expect(t.statsOf('op:a', 'window')?.count).toBe(15);
    clock.advance(45_000); // the first ten are now 75 s old, the five 45 s
    const window = t.statsOf('op:a', 'window');
    expect(window?.count).toBe(5);
    expect(window?.errors).toBe(5);
    expect(window?.p50Ms).toBeGreaterThan(400);
    const total = t.statsOf('op:a', 'total');
    expect(total?.count).toBe(15);
    expect(total?.errors).toBe(5);
    clock.advance(120_000);
    expect(t.stats('window').map((s) => s.name)).toEqual([]);
    expect(t.stats('total').map((s) => [s.name, s.count])).toEqual([['op:a', 15]]);
  });

  it('logs calls at or over their threshold, newest first, and keeps only the last N', () => {
    const clock = fakeClock();
    const t = new OperationTimings(clock, { defaultSlowMs: 100, slowLogSize: 3 });
    t.setThreshold('op:fast-only', 10);
    t.record('op:a', 99, true);
    t.record('op:fast-only', 12, true);
    for (let i = 0; i < 4; i += 1) t.record('op:a', 100 + i, i !== 3, 'PH_UNAVAILABLE');
    const log = t.slowLog();
    expect(log).toHaveLength(3);
    expect(log.map((c) => c.durationMs)).toEqual([103, 102, 101]);
    expect(log[0]).toMatchObject({ name: 'op:a', ok: false, code: 'PH_UNAVAILABLE', thresholdMs: 100 });
    expect(t.statsOf('op:fast-only')?.slowCalls).toBe(1);
    expect(t.statsOf('op:a')?.slowCalls).toBe(4);
    expect(t.thresholdOf('op:fast-only')).toBe(10);
    expect(t.setThreshold('op:fast-only', null)).toBe(100);
  });

  it('times sync and async functions, counting throws and rejections as errors with their code', async () => {
    const t = new OperationTimings(fakeClock());
    expect(t.time('sync', () => 42)).toBe(42);
    await expect(t.time('async', async () => 'x')).resolves.toBe('x');
    expect(() =>
      t.time('sync', () => {
        throw Object.assign(new Error('no'), { code: 'PH_CONFLICT' });
      }),
    ).toThrow('no');
    await expect(t.time('async', () => Promise.reject(new Error('gone')))).rejects.toThrow('gone');
    const wrapped = t.wrap('wrapped', (a: number, b: number) => a + b);
    expect(wrapped(2, 3)).toBe(5);
    const byName = Object.fromEntries(t.stats().map((s) => [s.name, [s.count, s.errors]]));
    expect(byName).toEqual({ async: [2, 1], sync: [2, 1], wrapped: [1, 0] });
  });
});
