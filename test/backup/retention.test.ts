import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDuration, selectKept, type RetentionPolicy } from '../../main/backup';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const now = Date.parse('2026-03-10T12:00:00Z');

const snaps = (times: number[]) => times.map((t, i) => ({ id: `s${i}`, capturedAt: t }));

describe('retention rules', () => {
  it('keeps everything when no rule is given', () => {
    expect(selectKept(snaps([1, 2, 3]), {}, now)).toEqual(new Set(['s0', 's1', 's2']));
  });

  it('keep-last keeps the newest N', () => {
    expect(selectKept(snaps([now - 3, now - 1, now - 2]), { keepLast: 2 }, now)).toEqual(new Set(['s1', 's2']));
  });

  it('keep-daily keeps the newest snapshot of each of the last N days that have one', () => {
    const times = [now - 1 * HOUR, now - 2 * HOUR, now - DAY - HOUR, now - 3 * DAY, now - 9 * DAY];
    expect(selectKept(snaps(times), { keepDaily: 3 }, now)).toEqual(new Set(['s0', 's2', 's3']));
  });

  it('keep-hourly, keep-weekly and keep-monthly bucket by hour, week and month', () => {
    const times = [now + 20 * 60_000, now + 10 * 60_000, now - 40 * 60_000, now - 8 * DAY, now - 40 * DAY];
    expect(selectKept(snaps(times), { keepHourly: 2 }, now)).toEqual(new Set(['s0', 's2']));
    expect(selectKept(snaps(times), { keepWeekly: 2 }, now)).toEqual(new Set(['s0', 's3']));
    expect(selectKept(snaps(times), { keepMonthly: 2 }, now)).toEqual(new Set(['s0', 's4']));
  });

  it('keep-within keeps everything taken within the duration of now', () => {
    expect(parseDuration('1d12h')).toBe(36 * HOUR);
    expect(() => parseDuration('soon')).toThrow(expect.objectContaining({ code: 'PH_INVALID_INPUT' }));
    const times = [now - HOUR, now - 35 * HOUR, now - 37 * HOUR];
    expect(selectKept(snaps(times), { keepWithin: '36h' }, now)).toEqual(new Set(['s0', 's1']));
  });

  it('always keeps the newest snapshot when any rule is set, and keeps a superset when a rule grows', () => {
    const policy = fc.record(
      {
        keepLast: fc.integer({ min: 0, max: 5 }),
        keepHourly: fc.integer({ min: 0, max: 5 }),
        keepDaily: fc.integer({ min: 0, max: 5 }),
        keepWeekly: fc.integer({ min: 0, max: 3 }),
        keepMonthly: fc.integer({ min: 0, max: 3 }),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: now - 90 * DAY, max: now }), { minLength: 1, maxLength: 40 }),
        policy,
        (times, p: RetentionPolicy) => {
          const list = snaps(times);
          const kept = selectKept(list, p, now);
          const newest = [...list].sort((a, b) => b.capturedAt - a.capturedAt || b.id.localeCompare(a.id))[0];
          const anyRule = Object.values(p).some((n) => (n as number) > 0);
          if (anyRule || Object.keys(p).length === 0) expect(kept.has(newest!.id)).toBe(true);
          if (!anyRule) return; // no rule means keep everything, which no rule set can grow past
          const grown = selectKept(list, { ...p, keepLast: (p.keepLast ?? 0) + 1 }, now);
          for (const id of kept) expect(grown.has(id)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });
});
