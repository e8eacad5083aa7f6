/**
 * One retention cut: history a capability keeps in its own tables, cut by age (or count) when the
 * maintenance job runs. The capability owns the SQL; the job only runs the cuts in turn.
 */
export interface RetentionCut {
  /** What is cut, as the job's log and the console name it (`audit log`, `batches`). */
  readonly name: string;
  /** The tables it cuts. */
  readonly tables: readonly string[];
  /** What is kept, in words (`90 days`, `365 days, at most 1000000 rows`). */
  readonly keeps: string;
  /** Cuts what is past retention at `now`; returns the rows removed. */
  run(now: number, signal: AbortSignal): number | Promise<number>;
}

export const DAY_MS = 24 * 3_600_000;

const UNITS = [
  ['day', DAY_MS],
  ['hour', 3_600_000],
  ['minute', 60_000],
  ['second', 1000],
] as const;

/** A retention window in words, in the largest unit it is a whole number of (`90 days`, `12 hours`, `5 minutes`). */
export function durationOf(ms: number): string {
  const [unit, size] = UNITS.find(([, size]) => ms >= size && ms % size === 0) ?? ['second', 1000];
  const n = Math.round(ms / size);
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}
