import type { Database } from 'better-sqlite3';
import type { Clock } from '../clock';
import type { EventBus } from '../events';
import { clampProgress, runOnce } from './job-effects';
import type { JobContext, JobInfo } from './job-types';
import type { JobRow } from './sqlite-job-row';
import type { SqliteJobStore } from './sqlite-job-store';

export interface SqliteJobContextDeps {
  readonly db: Database;
  readonly store: SqliteJobStore;
  readonly clock: Clock;
  readonly bus: EventBus | null;
  /** A job's children, as `jobs.list { parentId }` answers them. */
  readonly children: (parentId: string) => Promise<JobInfo[]>;
}

/** What a handler of the SQLite queue gets for one run of a job: progress and logs in the job's row, effects run once. */
export function sqliteJobContext(row: JobRow, signal: AbortSignal, deps: SqliteJobContextDeps): JobContext {
  const id = row.id;
  // A row id comes back once the newest job is deleted: its creation time keeps a later job with the
  // same id from finding this one's effects done.
  const keyBase = row.idempotency_key ?? `job:${id}:${row.created_at}`;
  return {
    id: String(id),
    type: row.type,
    attempt: row.attempts_made,
    idempotencyKey: row.idempotency_key,
    signal,
    progress: (fraction, message) => {
      const f = clampProgress(fraction);
      deps.store.progress(id, f, message ?? null, deps.clock.now());
      deps.bus?.publish('jobs.progress', { id: String(id), type: row.type, progress: f, message: message ?? null });
    },
    log: (message) => deps.store.log(id, message.slice(0, 2000), deps.clock.now()),
    once: <T>(step: string, fn: (db: Database) => T): T => runOnce(deps.db, `${keyBase}:${step}`, deps.clock.now(), fn),
    children: () => deps.children(String(id)),
  };
}
