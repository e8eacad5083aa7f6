import { PhError } from '../../contract/errors';
import type { JobInfo, JobQueue, JobSpec } from '../batch';
import type { BackupScheduler } from './backup-service';

type Queue = Pick<JobQueue, 'list' | 'enqueue' | 'cancel'>;

export const isScheduled = (payload: unknown): boolean => ((payload ?? {}) as Record<string, unknown>).scheduled === true;

/** The node a `backup.maintenance` job is for (`{ node }`). */
export function readMaintenanceNode(payload: unknown): string {
  const node = ((payload ?? {}) as Record<string, unknown>).node;
  if (typeof node !== 'string' || node === '')
    throw new PhError('PH_INVALID_INPUT', 'backup.maintenance takes { node: string }', { field: 'node' });
  return node;
}

const field = (payload: unknown, name: string): unknown => ((payload ?? {}) as Record<string, unknown>)[name];

/**
 * Makes `spec` the one repeating job of its kind (`mine` picks the kind's jobs out of the type's):
 * kept when one already repeats on `cron`, replaced when not, none when `cron` is null. The spec's
 * idempotency key makes a second enqueue the same series, and cancelling a run ends its series on
 * both queues: a run of the old schedule under way is cancelled too, or it would plan the old
 * schedule's next run when it ends.
 */
async function setRepeating(queue: Queue, spec: JobSpec, mine: (job: JobInfo) => boolean, cron: string | null): Promise<void> {
  const { jobs } = await queue.list({ type: spec.type, limit: 1000 });
  let kept = false;
  for (const job of jobs) {
    if (job.repeatCron === null || !(job.state === 'waiting' || job.state === 'delayed' || job.state === 'active') || !mine(job)) continue;
    // Runs of one series (a run under way and the next it planned) share the cron and the key.
    if (job.repeatCron === cron) kept = true;
    else await queue.cancel(job.id);
  }
  if (cron === null || kept) return;
  await queue.enqueue({ ...spec, repeat: { cron }, idempotencyKey: `${spec.idempotencyKey as string}:${cron}` });
}

/** Source schedules and this node's maintenance as repeating jobs on the queue's own cron. */
export function queueScheduler(queue: Queue, nodeId: string): BackupScheduler {
  return {
    set: (sourceId, cron) =>
      setRepeating(
        queue,
        { type: 'backup.snapshot', payload: { sourceId, scheduled: true }, idempotencyKey: `backup.schedule:${sourceId}` },
        (job) => isScheduled(job.payload) && field(job.payload, 'sourceId') === sourceId,
        cron,
      ),
    setMaintenance: (cron) =>
      setRepeating(
        queue,
        { type: 'backup.maintenance', payload: { node: nodeId }, idempotencyKey: `backup.maintenance:${nodeId}` },
        (job) => field(job.payload, 'node') === nodeId,
        cron,
      ),
  };
}
