import type { Database } from 'better-sqlite3';
import { durationOf, type RetentionCut } from '../core';
import { pruneJobHistory, type PrunePolicy } from './job-history';

export interface BatchRetention {
  /** Ended batches (succeeded, failed, partial) and their per-operation records. */
  readonly batchMs: number;
  /** Ended jobs with their logs, by age and count: completed and cancelled, and dead (with the once() effect records). */
  readonly jobs: PrunePolicy;
}

/**
 * The batch engine's and the SQLite job queue's history, cut by age (jobs by count too): a running batch and a job not
 * yet ended are never touched; `batch_ops`, `job_logs` and `job_compensations` go with their row
 * (ON DELETE CASCADE). With Redis the job history is BullMQ's, kept by the same policy
 * (`removeOnComplete`/`removeOnFail`, job-history.ts), and the `jobs` table stays empty. `batch_records` is the "record" resource's data, not history.
 */
export function batchRetentionCuts(db: Database, retention: BatchRetention): RetentionCut[] {
  const { jobs } = retention;
  return [
    {
      name: 'batches',
      tables: ['batches', 'batch_ops'],
      keeps: durationOf(retention.batchMs),
      run: (now) =>
        db
          .prepare("DELETE FROM batches WHERE status <> 'running' AND finished_at IS NOT NULL AND finished_at < ?")
          .run(now - retention.batchMs).changes,
    },
    {
      name: 'job history',
      tables: ['jobs', 'job_logs', 'job_compensations', 'job_effects'],
      keeps: `${durationOf(jobs.keepCompletedMs)} or ${jobs.keepCompletedCount} completed, ${durationOf(jobs.keepDeadMs)} or ${jobs.keepDeadCount} failed`,
      run: (now) => {
        const removed = pruneJobHistory(db, now, jobs);
        return removed.jobs + removed.effects;
      },
    },
  ];
}
