import type { Database } from 'better-sqlite3';
import { daysOf, type RetentionCut } from '../core';

export interface BatchRetention {
  /** Ended batches (succeeded, failed, partial) and their per-operation records. */
  readonly batchMs: number;
  /** Completed and cancelled jobs, with their logs. */
  readonly completedJobMs: number;
  /** Dead jobs (failed every attempt), with their logs, and the once() effect records. */
  readonly failedJobMs: number;
}

/**
 * The batch engine's and the SQLite job queue's history, cut by age: a running batch and a job not
 * yet ended are never touched; `batch_ops`, `job_logs` and `job_compensations` go with their row
 * (ON DELETE CASCADE). With Redis the job history is BullMQ's (`removeOnComplete`/`removeOnFail`)
 * and the `jobs` table stays empty. `batch_records` is the "record" resource's data, not history.
 */
export function batchRetentionCuts(db: Database, retention: BatchRetention): RetentionCut[] {
  return [
    {
      name: 'batches',
      tables: ['batches', 'batch_ops'],
      keeps: daysOf(retention.batchMs),
      run: (now) =>
        db
          .prepare("DELETE FROM batches WHERE status <> 'running' AND finished_at IS NOT NULL AND finished_at < ?")
          .run(now - retention.batchMs).changes,
    },
    {
      name: 'job history',
      tables: ['jobs', 'job_logs', 'job_compensations', 'job_effects'],
      keeps: `${daysOf(retention.completedJobMs)} completed, ${daysOf(retention.failedJobMs)} failed`,
      run: (now) =>
        db.transaction(() => {
          const ended = db
            .prepare("DELETE FROM jobs WHERE state IN ('completed', 'cancelled') AND finished_at < ?")
            .run(now - retention.completedJobMs).changes;
          const dead = db.prepare("DELETE FROM jobs WHERE state = 'dead' AND finished_at < ?").run(now - retention.failedJobMs).changes;
          const effects = db.prepare('DELETE FROM job_effects WHERE at < ?').run(now - retention.failedJobMs).changes;
          return ended + dead + effects;
        })(),
    },
  ];
}
