/**
 * The distributed queue's job detail beyond BullMQ's own job hash: a progress timeline kept in a
 * Redis list per job (fleet-wide, like the job), and its attempts.
 */
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { attemptsFromStacks, MAX_PROGRESS_POINTS } from './job-attempts';
import type { JobAttempt, ProgressPoint } from './job-types';

/** The Redis list of a job's progress points, by the job's API id. */
export const progressKey = (prefix: string, id: string): string => `${prefix}:ph-progress:${id}`;

/** Appends one point; the list lives as long as BullMQ keeps a dead job (`ttlMs`), and stops at MAX_PROGRESS_POINTS. */
export async function recordProgress(redis: Redis, key: string, point: ProgressPoint, ttlMs: number): Promise<void> {
  await redis
    .multi()
    .rpush(key, JSON.stringify(point))
    .ltrim(key, 0, MAX_PROGRESS_POINTS - 1)
    .pexpire(key, ttlMs)
    .exec();
}

export async function readProgress(redis: Redis, key: string): Promise<ProgressPoint[]> {
  const raw = await redis.lrange(key, 0, -1);
  return raw.flatMap((r) => {
    try {
      const p = JSON.parse(r) as ProgressPoint;
      return typeof p.at === 'string' && typeof p.progress === 'number'
        ? [{ at: p.at, progress: p.progress, message: p.message ?? null }]
        : [];
    } catch {
      // A point that is not JSON was not written by a node: it is left out, not shown.
      return [];
    }
  });
}

export function attemptsOf(job: Job): JobAttempt[] {
  return attemptsFromStacks(job.stacktrace ?? [], job.attemptsMade, job.finishedOn);
}
