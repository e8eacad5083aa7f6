/**
 * Repeating jobs on the SQLite queue: each run is its own row, keyed `<base>@<runAt>`, so inserting
 * the same run twice is a no-op (the insert skips a taken idempotency key).
 */
import type { Statement } from 'better-sqlite3';
import { Cron } from 'croner';
import { PhError } from '../../contract/errors';
import type { JobSpec } from './job-types';
import type { JobRow } from './sqlite-job-row';

/** The first run of a repeating spec (at or after `runAt`) and its key; other specs as given. */
export function firstRun(spec: JobSpec, now: number, runAt: number, key: string | null): { runAt: number; key: string | null } {
  if (spec.repeat === undefined) return { runAt, key };
  const first = nextCronRun(spec.repeat.cron, Math.max(now, runAt - 1));
  return { runAt: first, key: `${key ?? `repeat:${spec.type}:${spec.repeat.cron}`}@${first}` };
}

/** Inserts the run after `row`'s (by `insert`, the store's insert statement), with the same options. */
export function scheduleNext(insert: Statement, row: JobRow, now: number): void {
  const cron = row.repeat_cron as string;
  const runAt = nextCronRun(cron, Math.max(now, row.run_at));
  const base = (row.idempotency_key ?? `repeat:${row.type}:${cron}`).replace(/@\d+$/, '');
  insert.run({
    type: row.type,
    payload: row.payload,
    state: 'waiting',
    priority: row.priority,
    runAt,
    maxAttempts: row.max_attempts,
    backoffMs: row.backoff_ms,
    timeoutMs: row.timeout_ms,
    key: `${base}@${runAt}`,
    cron,
    parentId: null,
    policy: 'fail-parent',
    pending: 0,
    now,
    createdBy: row.created_by,
  });
}

export function nextCronRun(pattern: string, after: number): number {
  let next: Date | null;
  try {
    next = new Cron(pattern).nextRun(new Date(after));
  } catch (err) {
    throw new PhError('PH_INVALID_INPUT', `Not a cron pattern: ${(err as Error).message}`, { field: 'repeat.cron' });
  }
  if (next === null) throw new PhError('PH_INVALID_INPUT', `The cron pattern ${pattern} never runs again`, { field: 'repeat.cron' });
  return next.getTime();
}
