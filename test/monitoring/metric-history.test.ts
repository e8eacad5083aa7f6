import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { MetricHistory } from '../../main/monitoring';
import { fakeClock } from './fake-clock';
import { monitoringDb } from './store';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 10, 24, 0, 0, 0);

describe('metric history', () => {
  const open: { close: () => void }[] = [];
  const setup = () => {
    const store = monitoringDb();
    open.push(store);
    const clock = fakeClock(T0);
    return { history: new MetricHistory(store.db, clock), clock, db: store.db };
  };
  afterEach(() => open.splice(0).forEach((s) => s.close()));

  const count = (db: ReturnType<typeof setup>['db'], res: number) =>
    (db.prepare('SELECT count(*) AS n FROM monitoring_samples WHERE res = ?').get(res) as { n: number }).n;

  it('rolls ended minutes into 1-minute points with avg, min and max, and leaves the current minute alone', () => {
    const { history, clock, db } = setup();
    for (let i = 0; i < 12; i += 1) {
      history.write(T0 + i * 10_000, { 'a.b': i, 'no.data': null });
      clock.advance(10_000);
    }
    // now = T0 + 120 s: minutes 0 and 1 have ended
    history.rollUp();
    const rows = db.prepare('SELECT ts, avg, min, max, n FROM monitoring_samples WHERE res = 60 ORDER BY ts').all();
    expect(rows).toEqual([
      { ts: T0, avg: 2.5, min: 0, max: 5, n: 6 },
      { ts: T0 + MIN, avg: 8.5, min: 6, max: 11, n: 6 },
    ]);
    expect(db.prepare("SELECT count(*) AS n FROM monitoring_samples WHERE series = 'no.data'").get()).toEqual({ n: 0 });
    history.write(T0 + 120_000, { 'a.b': 100 });
    history.rollUp();
    expect(count(db, 60)).toBe(2);
  });

  it('rolls minutes into hours weighted by how many samples each minute holds', () => {
    const { history, clock, db } = setup();
    // minute 0: six samples of 10; minute 1: one sample of 80 → hour average (60 + 80) / 7 = 20
    for (let i = 0; i < 6; i += 1) history.write(T0 + i * 10_000, { x: 10 });
    history.write(T0 + MIN, { x: 80 });
    clock.set(T0 + HOUR + 1);
    history.rollUp();
    expect(db.prepare('SELECT ts, avg, min, max, n FROM monitoring_samples WHERE res = 3600').all()).toEqual([
      { ts: T0, avg: 20, min: 10, max: 80, n: 7 },
    ]);
  });

  it('keeps raw samples a day, minutes a week and hours 90 days', () => {
    const { history, clock, db } = setup();
    for (const age of [0, DAY - 1, DAY + 1]) history.write(T0 - age, { x: 1 });
    const insert = db.prepare('INSERT INTO monitoring_samples (res, series, ts, avg, min, max, n) VALUES (?, ?, ?, 1, 1, 1, 1)');
    for (const age of [6 * DAY, 8 * DAY]) insert.run(60, 'x', T0 - age);
    for (const age of [89 * DAY, 91 * DAY]) insert.run(3600, 'x', T0 - age);
    clock.set(T0);
    expect(history.prune()).toBe(3);
    expect([count(db, 10), count(db, 60), count(db, 3600)]).toEqual([2, 1, 1]);
  });

  it('answers range queries bucketed by step, from the finest resolution that covers the range', () => {
    const { history, clock } = setup();
    for (let i = 0; i < 360; i += 1) history.write(T0 + i * 10_000, { up: i, flat: 1 }); // one hour
    clock.set(T0 + HOUR);
    history.rollUp();
    const fine = history.query({ series: ['up'], from: T0, to: T0 + 10 * MIN, stepMs: MIN });
    expect(fine.resolution).toBe(60);
    expect(fine.series[0]?.points).toHaveLength(10);
    expect(fine.series[0]?.points[0]).toEqual({ t: T0, avg: 2.5, min: 0, max: 5 });
    const raw = history.query({ series: ['up', 'flat'], from: T0, to: T0 + MIN, stepMs: 20_000 });
    expect(raw.resolution).toBe(10);
    expect(raw.series.map((s) => s.points.length)).toEqual([3, 3]);
    expect(raw.series[0]?.points[1]).toEqual({ t: T0 + 20_000, avg: 2.5, min: 2, max: 3 });
    clock.set(T0 + 2 * DAY);
    expect(history.resolutionFor(T0, MIN)).toBe(60); // raw samples no longer reach back that far
    expect(history.resolutionFor(T0 - 30 * DAY, MIN)).toBe(3600);
  });

  it('refuses an empty range and an unknown series with catalogue codes', () => {
    const { history } = setup();
    expect(() => history.query({ series: ['x'], from: T0, to: T0, stepMs: MIN })).toThrowError(
      expect.objectContaining({ code: 'PH_MONITORING_BAD_RANGE' }),
    );
    expect(() => history.query({ series: ['nope'], from: T0, to: T0 + MIN, stepMs: MIN }, (n) => n === 'x')).toThrowError(
      expect.objectContaining({ code: 'PH_MONITORING_UNKNOWN_SERIES' }),
    );
  });

  it('keeps the overall mean, min and max through both roll-ups for any samples (property)', () => {
    const { db } = setup();
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 2 * 360 - 1 }), fc.integer({ min: -1000, max: 1000 })), {
          minLength: 1,
          maxLength: 60,
        }),
        (samples) => {
          db.exec('DELETE FROM monitoring_samples');
          const clock = fakeClock(T0);
          const history = new MetricHistory(db, clock);
          const seen = new Map<number, number>();
          for (const [slot, value] of samples) seen.set(slot, value); // one sample per 10 s slot, the last wins
          for (const [slot, value] of seen) history.write(T0 + slot * 10_000, { p: value });
          clock.set(T0 + 2 * HOUR);
          history.rollUp();
          const values = [...seen.values()];
          const row = db
            .prepare(
              "SELECT sum(avg * n) / sum(n) AS mean, min(min) AS min, max(max) AS max, sum(n) AS n FROM monitoring_samples WHERE res = 3600 AND series = 'p'",
            )
            .get() as {
            mean: number;
            min: number;
            max: number;
            n: number;
          };
          expect(row.n).toBe(values.length);
          expect(row.mean).toBeCloseTo(values.reduce((a, b) => a + b, 0) / values.length, 6);
          expect(row.min).toBe(Math.min(...values));
          expect(row.max).toBe(Math.max(...values));
        },
      ),
      { numRuns: 40 },
    );
  });
});
