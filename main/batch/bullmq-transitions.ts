/**
 * The distributed queue's changes to one job (promote, retry, remove, end its schedule), made safe
 * against the job moving under them. Our state check is a round trip before BullMQ's script runs:
 * in between a worker can take the job, a delay can come due, or another node can retry or remove
 * it. BullMQ's script then refuses with a plain Error ("locked by another worker", "is not in the
 * delayed state"), which would reach the caller as a 500. After a refusal the job's state is read
 * again: when it has left the states the change needs, the caller gets the coded answer for where
 * the job is now; otherwise the refusal stands as it was.
 */
import type { Job, JobState, Queue } from 'bullmq';
import { PhError } from '../../contract/errors';
import type { JobSchedules } from './job-schedules';

export type BullState = JobState | 'unknown';

/**
 * Runs `change`, which needs the job in a state `allowed` accepts. Null when it ran; the job's
 * state now when BullMQ refused because the job had moved out of those states.
 */
async function changeUnlessMoved(
  job: Job,
  allowed: (state: BullState) => boolean,
  change: () => Promise<unknown>,
): Promise<BullState | null> {
  try {
    await change();
    return null;
  } catch (err) {
    if (err instanceof PhError) throw err;
    const now = await job.getState().catch(() => {
      throw err;
    });
    if (allowed(now)) throw err;
    return now;
  }
}

/** Moves a delayed job to waiting now; any other state is refused with the job's state named. */
export async function promoteJob(job: Job, id: string): Promise<void> {
  const refuse = (state: BullState) => new PhError('PH_BATCH_JOB_NOT_DELAYED', `Job ${id} is ${state}; only a delayed job can be promoted`);
  const isDelayed = (state: BullState) => state === 'delayed';
  const state = await job.getState();
  if (!isDelayed(state)) throw refuse(state);
  const moved = await changeUnlessMoved(job, isDelayed, () => job.promote());
  if (moved !== null) throw refuse(moved);
}

/** Runs a failed job again from its first attempt; a job that is not failed (any more) is refused. */
export async function retryFailedJob(job: Job, id: string): Promise<void> {
  const refuse = () => new PhError('PH_BATCH_JOB_NOT_RETRYABLE', `Job ${id} has not failed`);
  const isFailed = (state: BullState) => state === 'failed';
  if (!isFailed(await job.getState())) throw refuse();
  if ((await changeUnlessMoved(job, isFailed, () => job.retry('failed', { resetAttemptsMade: true }))) !== null) throw refuse();
}

/**
 * Removes a job that is not running, by `remove` (which may end the job's schedule first). A job a
 * worker took meanwhile is refused as running. One removed meanwhile (by another node, or by its own
 * retention) is gone as asked: BullMQ's removal of a missing job succeeds, and a refusal that finds
 * it gone answers not found.
 */
export async function removeIdleJob(job: Job, id: string, remove: () => Promise<void>): Promise<void> {
  const isIdle = (state: BullState) => state !== 'active' && state !== 'unknown';
  const state = await job.getState();
  const moved = isIdle(state) ? await changeUnlessMoved(job, isIdle, remove) : state;
  if (moved === null) return;
  if (moved === 'active') throw new PhError('PH_BATCH_JOB_RUNNING', `Job ${id} is running; cancel it first`);
  throw new PhError('PH_BATCH_JOB_NOT_FOUND', `There is no job ${id}`);
}

/** Where a repeating job's schedule lives: its BullMQ queue, and this node's record of schedules. */
export interface ScheduleHome {
  readonly queue: Queue;
  readonly schedules: JobSchedules;
}

/** Ends the schedule of a run of a repeating job, in Redis and in this node's record; false for any other job. */
export async function endSchedule(job: Job, home: ScheduleHome): Promise<boolean> {
  const repeat = job.opts.repeat;
  if (repeat?.key === undefined) return false;
  // As in enqueue: the repeat helper's set-up failure would reach no one, so the queue is set up first.
  await home.queue.waitUntilReady();
  await home.queue.removeRepeatable(job.name, repeat);
  home.schedules.remove(`${job.queueName}/${repeat.key}`);
  return true;
}

/**
 * Removes a job with its children. A run of a repeating job cancelled or deleted ends its schedule
 * first (BullMQ refuses to remove a run while its schedule stands; removing the schedule takes its
 * next delayed run with it), in Redis and in this node's record of it.
 */
export async function removeJobAndChildren(job: Job, home: ScheduleHome): Promise<void> {
  if (await endSchedule(job, home)) {
    if ((await job.getState()) === 'unknown') return;
  }
  await job.remove({ removeChildren: true });
}
