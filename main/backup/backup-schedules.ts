import { Cron } from 'croner';
import { PhError } from '../../contract/errors';
import type { JobInfo, JobQueue, JobSpec } from '../batch';
import type { ManifestHeader } from './manifest';

/**
 * Where source schedules live: the job queue's repeating `backup.snapshot` jobs (see queueScheduler below),
 * so backups ride the one scheduler jobs use and, with Redis, fire once fleet-wide on the owning node.
 */
export interface BackupScheduler {
  /** Sets a source's repeating snapshot to `cron`, or removes it (null). Idempotent. */
  set(sourceId: string, cron: string | null): Promise<void>;
  /** Sets this node's repeating maintenance (prune + rolling verify) to `cron`, or removes it (null). */
  setMaintenance(cron: string | null): Promise<void>;
}

/** A scheduled run that starts this long after it was due ran late (the node was down): a `missed` run. */
const MISSED_AFTER_MS = 60_000;

/** The trigger a snapshot no operator asked for is recorded with: `dueAt` is null in continuous mode. */
export function scheduledTrigger(dueAt: number | null, now: number): ManifestHeader['trigger'] {
  return dueAt === null ? 'continuous' : now - dueAt > MISSED_AFTER_MS ? 'missed' : 'schedule';
}

export function validateSchedule(expr: string | null | undefined): void {
  if (expr === null || expr === undefined) return;
  try {
    new Cron(expr, { paused: true }).stop();
  } catch (err) {
    throw new PhError('PH_BACKUP_SCHEDULE_INVALID', `"${expr}" is not a valid cron expression: ${(err as Error).message}`, {
      field: 'schedule',
    });
  }
}

/** When `schedule` next fires after `now`, as the queue computes it (croner); null without a schedule. */
export function nextRunOf(schedule: string | null, now: number): number | null {
  if (schedule === null) return null;
  return new Cron(schedule, { paused: true }).nextRun(new Date(now))?.getTime() ?? null;
}

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
