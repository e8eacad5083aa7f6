import { Job, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { toJobInfo } from '../../main/batch/bullmq-job-info';
import { promoteJob, removeIdleJob, retryFailedJob } from '../../main/batch/bullmq-transitions';
import { PhError } from '../../contract/errors';
import { startRedis, type TestRedis } from '../helpers/redis-server';

/**
 * The queue reads a job's state, then asks BullMQ to change it: another actor (a worker, a delay
 * coming due, another node) can move the job in between. These tests put that actor's move, on a
 * real redis-server, exactly between the read and the change, and pin the coded answer the caller
 * gets instead of BullMQ's plain refusal (a 500).
 */
describe('job changes that race another actor on the distributed queue', () => {
  let redis: TestRedis;
  let connection: Redis;
  let queue: Queue;
  let worker: Worker;

  beforeAll(async () => {
    redis = await startRedis();
    connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    queue = new Queue('ph-races', { connection });
    // No processor: jobs are taken by hand (`getNextJob`), so the test decides when a worker takes one.
    worker = new Worker('ph-races', null, { connection: connection.duplicate() });
  });
  // Each test starts from an empty queue, whatever the last one left.
  afterEach(() => queue.obliterate({ force: true }));
  afterAll(async () => {
    await worker?.close();
    await queue?.close();
    connection?.disconnect();
    await redis?.stop();
  });

  /** Our handle on the job, whose first state read is followed by `move` (another actor's change). */
  async function racedHandle(id: string, move: () => Promise<unknown>): Promise<Job> {
    const job = (await Job.fromId(queue, id)) as Job;
    const read = job.getState.bind(job);
    let moved = false;
    job.getState = async () => {
      const state = await read();
      if (!moved) {
        moved = true;
        await move();
      }
      return state;
    };
    return job;
  }

  const codeOf = (err: unknown) => (err instanceof PhError ? err.code : `uncoded: ${String(err)}`);

  it('refuses to promote a delayed job that came due (or was promoted elsewhere) before BullMQ moved it, naming its state', async () => {
    const added = await queue.add('later', {}, { delay: 60_000 });
    const other = (await Job.fromId(queue, added.id as string)) as Job;
    const job = await racedHandle(added.id as string, () => other.promote());
    const err = await promoteJob(job, added.id as string).catch((e: unknown) => e);
    expect(codeOf(err)).toBe('PH_BATCH_JOB_NOT_DELAYED');
    expect((err as Error).message).toContain('is waiting');
    expect(await other.getState()).toBe('waiting');
  });

  it('refuses to retry a failed job that another node retried first', async () => {
    const added = await queue.add('fails', {}, { attempts: 1 });
    const taken = (await worker.getNextJob('token-1')) as Job;
    expect(taken.id).toBe(added.id);
    await taken.moveToFailed(new Error('no'), 'token-1', false);
    const other = (await Job.fromId(queue, added.id as string)) as Job;
    const job = await racedHandle(added.id as string, () => other.retry('failed'));
    expect(codeOf(await retryFailedJob(job, added.id as string).catch((e: unknown) => e))).toBe('PH_BATCH_JOB_NOT_RETRYABLE');
    expect(await other.getState()).toBe('waiting');
  });

  it('refuses as running a waiting job a worker took before it was removed, and leaves the run alone', async () => {
    const added = await queue.add('taken', {});
    const job = await racedHandle(added.id as string, () => worker.getNextJob('token-2'));
    const err = await removeIdleJob(job, added.id as string, () => job.remove()).catch((e: unknown) => e);
    expect(codeOf(err)).toBe('PH_BATCH_JOB_RUNNING');
    expect(await queue.getJobState(added.id as string)).toBe('active');
  });

  it('removes a job another node removed between the read and the removal without complaint: it is gone either way', async () => {
    const added = await queue.add('gone', {});
    const job = await racedHandle(added.id as string, () => queue.remove(added.id as string));
    await expect(removeIdleJob(job, added.id as string, () => job.remove())).resolves.toBeUndefined();
    expect(await queue.getJobState(added.id as string)).toBe('unknown');
  });

  it('shows a job that finished between the read of its record and of its state with its result and end, not as completed with none', async () => {
    const added = await queue.add('finishing', { n: 1 });
    const taken = (await worker.getNextJob('token-3')) as Job;
    const job = (await Job.fromId(queue, added.id as string)) as Job;
    await taken.moveToCompleted({ answer: 42 }, 'token-3', false);
    const info = await toJobInfo(
      job,
      async () => null,
      () => Job.fromId(queue, added.id as string),
    );
    expect(info).toMatchObject({ state: 'completed', result: { answer: 42 }, progress: 1 });
    expect(info.finishedAt).not.toBeNull();
  });

  it('removes a delayed job, which is idle, from Redis', async () => {
    const added = await queue.add('idle', {}, { delay: 60_000 });
    expect(await queue.getJobState(added.id as string)).toBe('delayed');
    const job = (await Job.fromId(queue, added.id as string)) as Job;
    await expect(removeIdleJob(job, added.id as string, () => job.remove())).resolves.toBeUndefined();
    expect(await queue.getJobState(added.id as string)).toBe('unknown');
  });
});
