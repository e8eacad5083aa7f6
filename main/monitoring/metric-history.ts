import type { Database, Statement } from 'better-sqlite3';
import { PhError } from '../../contract/errors';
import type { Clock } from '../clock';

/** Stored resolutions, in seconds: raw samples, then the 1-minute and 1-hour roll-ups. */
export const RESOLUTIONS = [10, 60, 3600] as const;
export type Resolution = (typeof RESOLUTIONS)[number];

export interface RetentionOptions {
  readonly rawMs: number;
  readonly minuteMs: number;
  readonly hourMs: number;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
export const defaultRetention: RetentionOptions = { rawMs: DAY, minuteMs: 7 * DAY, hourMs: 90 * DAY };

export interface HistoryPoint {
  t: number;
  avg: number;
  min: number;
  max: number;
}

export interface HistoryQuery {
  series: readonly string[];
  from: number;
  to: number;
  stepMs: number;
}

export interface HistoryResult {
  from: number;
  to: number;
  stepMs: number;
  resolution: Resolution;
  series: { name: string; points: HistoryPoint[] }[];
}

/** At most this many points a series per query, whatever step is asked for. */
const MAX_POINTS = 2_000;

/**
 * Metric history in SQLite: raw samples (one per series per tick), rolled up into 1-minute and
 * 1-hour series once each period has ended, and pruned by age per resolution. Roll-ups keep avg,
 * min, max and the sample count, so an hour is the count-weighted mean of its minutes.
 */
export class MetricHistory {
  readonly retention: RetentionOptions;
  readonly #insert: Statement;
  readonly #rollUp: Statement;
  readonly #prune: Statement;
  readonly #latestOf: Statement;
  /** Per target resolution: the start of the first period not rolled up yet. */
  readonly #rolledTo = new Map<Resolution, number>();

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    retention: Partial<RetentionOptions> = {},
  ) {
    this.retention = { ...defaultRetention, ...retention };
    this.#insert = db.prepare(
      'INSERT OR REPLACE INTO monitoring_samples (res, series, ts, avg, min, max, n) VALUES (10, ?, ?, ?, ?, ?, 1)',
    );
    this.#rollUp = db.prepare(`
      INSERT OR REPLACE INTO monitoring_samples (res, series, ts, avg, min, max, n)
      SELECT @to, series, (ts / CAST(@periodMs AS INTEGER)) * CAST(@periodMs AS INTEGER), sum(avg * n) / sum(n), min(min), max(max), sum(n)
      FROM monitoring_samples
      WHERE res = @from AND ts >= @start AND ts < @end
      GROUP BY series, ts / CAST(@periodMs AS INTEGER)`);
    this.#prune = db.prepare('DELETE FROM monitoring_samples WHERE res = ? AND ts < ?');
    this.#latestOf = db.prepare('SELECT max(ts) AS ts FROM monitoring_samples WHERE res = ?');
  }

  /** Stores one tick's values (nulls are skipped: no data is not zero). */
  write(at: number, values: Record<string, number | null>): number {
    let written = 0;
    this.db.transaction(() => {
      for (const [series, value] of Object.entries(values)) {
        if (value === null) continue;
        this.#insert.run(series, at, value, value, value);
        written += 1;
      }
    })();
    return written;
  }

  /** Rolls every ended minute into the 1-minute series and every ended hour into the 1-hour one. */
  rollUp(now: number = this.clock.now()): void {
    this.db.transaction(() => {
      this.#rollInto(60, 10, now);
      this.#rollInto(3600, 60, now);
    })();
  }

  /** Deletes what is older than each resolution keeps. Returns the rows removed. */
  prune(now: number = this.clock.now()): number {
    let removed = 0;
    this.db.transaction(() => {
      removed += this.#prune.run(10, now - this.retention.rawMs).changes;
      removed += this.#prune.run(60, now - this.retention.minuteMs).changes;
      removed += this.#prune.run(3600, now - this.retention.hourMs).changes;
    })();
    return removed;
  }

  /**
   * Points of each series in [from, to), averaged into `stepMs` buckets aligned to the epoch. Reads
   * the finest stored resolution that still covers `from` and is no finer than the step needs.
   */
  query(q: HistoryQuery, known: (name: string) => boolean = () => true): HistoryResult {
    if (!(q.to > q.from)) throw new PhError('PH_MONITORING_BAD_RANGE', '"to" must be after "from"');
    const unknown = q.series.find((name) => !known(name));
    if (unknown !== undefined) throw new PhError('PH_MONITORING_UNKNOWN_SERIES', `There is no series named ${JSON.stringify(unknown)}`);
    const stepMs = Math.max(q.stepMs, Math.ceil((q.to - q.from) / MAX_POINTS), 1000);
    const resolution = this.resolutionFor(q.from, stepMs);
    const placeholders = q.series.map((_, i) => `@s${i}`).join(', ');
    const rows = this.db
      .prepare(
        `SELECT series, (ts / CAST(@step AS INTEGER)) * CAST(@step AS INTEGER) AS t, sum(avg * n) / sum(n) AS avg, min(min) AS min, max(max) AS max
         FROM monitoring_samples
         WHERE res = @res AND ts >= @from AND ts < @to AND series IN (${placeholders})
         GROUP BY series, t ORDER BY t`,
      )
      .all({
        step: stepMs,
        res: resolution,
        from: q.from,
        to: q.to,
        ...Object.fromEntries(q.series.map((name, i) => [`s${i}`, name])),
      }) as { series: string; t: number; avg: number; min: number; max: number }[];
    const bySeries = new Map<string, HistoryPoint[]>(q.series.map((name) => [name, []]));
    for (const row of rows) bySeries.get(row.series)?.push({ t: row.t, avg: row.avg, min: row.min, max: row.max });
    return { from: q.from, to: q.to, stepMs, resolution, series: [...bySeries].map(([name, points]) => ({ name, points })) };
  }

  /** The finest resolution not finer than a step and still kept as far back as `from`. */
  resolutionFor(from: number, stepMs: number, now: number = this.clock.now()): Resolution {
    const kept: Record<Resolution, number> = { 10: this.retention.rawMs, 60: this.retention.minuteMs, 3600: this.retention.hourMs };
    const covering = RESOLUTIONS.filter((r) => now - kept[r] <= from);
    const fitting = covering.filter((r) => r * 1000 <= stepMs);
    return fitting.at(-1) ?? covering[0] ?? 3600;
  }

  #rollInto(to: Resolution, from: Resolution, now: number): void {
    const periodMs = to * 1000;
    const end = Math.floor(now / periodMs) * periodMs;
    let start = this.#rolledTo.get(to);
    if (start === undefined) {
      const latest = (this.#latestOf.get(to) as { ts: number | null }).ts;
      start = latest === null ? 0 : latest + periodMs;
    }
    if (start >= end) return;
    this.#rollUp.run({ to, from, periodMs, start, end });
    this.#rolledTo.set(to, end);
  }
}
