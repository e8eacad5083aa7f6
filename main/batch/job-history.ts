import type { Database } from 'better-sqlite3';
import type { JobsOptions } from 'bullmq';

/** How much ended job history a queue keeps (config `retention`: age and count, per outcome). */
export interface PrunePolicy {
  readonly keepCompletedMs: number;
  readonly keepCompletedCount: number;
  readonly keepDeadMs: number;
  readonly keepDeadCount: number;
}

/** The defaults of `retention` (docs/retention.md), for a queue built without the config. */
export const DEFAULT_JOB_HISTORY: PrunePolicy = {
  keepCompletedMs: 24 * 3600_000,
  keepCompletedCount: 1000,
  keepDeadMs: 7 * 24 * 3600_000,
  keepDeadCount: 10_000,
};

/**
 * Removes the SQLite queue's ended jobs past their age or beyond the newest `keep*` of their state
 * (logs and compensations go with them), and `once()` effect records past the dead jobs' age.
 * Returns the jobs removed and the effect records removed.
 */
export function pruneJobHistory(db: Database, now: number, policy: PrunePolicy): { jobs: number; effects: number } {
  return db.transaction(() => {
    let jobs = 0;
    for (const [states, maxAge, keep] of [
      [['completed', 'cancelled'], policy.keepCompletedMs, policy.keepCompletedCount],
      [['dead'], policy.keepDeadMs, policy.keepDeadCount],
    ] as const) {
      const list = states.map((s) => `'${s}'`).join(', ');
      jobs += db.prepare(`DELETE FROM jobs WHERE state IN (${list}) AND finished_at < ?`).run(now - maxAge).changes;
      jobs += db
        .prepare(
          `DELETE FROM jobs WHERE state IN (${list}) AND id NOT IN (SELECT id FROM jobs WHERE state IN (${list}) ORDER BY finished_at DESC LIMIT ?)`,
        )
        .run(keep).changes;
    }
    const effects = db.prepare('DELETE FROM job_effects WHERE at < ?').run(now - policy.keepDeadMs).changes;
    return { jobs, effects };
  })();
}

/**
 * The same policy as BullMQ keeps it with Redis: each job is added with it, and BullMQ drops ended
 * jobs past the age (in seconds) or beyond the count of their queue when the next one ends.
 */
export function bullmqRemoval(policy: PrunePolicy): Pick<JobsOptions, 'removeOnComplete' | 'removeOnFail'> {
  return {
    removeOnComplete: { age: Math.ceil(policy.keepCompletedMs / 1000), count: policy.keepCompletedCount },
    removeOnFail: { age: Math.ceil(policy.keepDeadMs / 1000), count: policy.keepDeadCount },
  };
}
