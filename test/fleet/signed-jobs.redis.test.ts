import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { BullmqJobQueue } from '../../main/batch';
import { systemClock } from '../../main/clock';
import { openTestDb, silent } from '../batch/fixtures';
import { testSeal } from '../helpers/fleet-secret';
import { startRedis, type TestRedis } from '../helpers/redis-server';
import { until } from '../helpers/until';

describe('jobs on the shared queue are sealed by the node that enqueued them', () => {
  let redis: TestRedis;
  let client: Redis;
  let t: ReturnType<typeof openTestDb>;
  let q: BullmqJobQueue;
  let prefix = 0;
  const seal = testSeal('node-jobs');
  const ran: unknown[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    client.disconnect();
    await redis.stop();
  });
  beforeEach(async () => {
    t = openTestDb();
    prefix += 1;
    ran.length = 0;
    q = new BullmqJobQueue(client, t.db, systemClock, silent, null, seal, { prefix: `s${prefix}` });
    q.register('apply', (payload) => {
      ran.push(payload);
      return 'done';
    });
    await q.start();
  });
  afterEach(async () => {
    await q.stop();
    t.close();
  });

  it('never runs a job written straight into Redis, and still runs the ones a node enqueued', async () => {
    const intruder = new Queue('ph-apply', { connection: client.duplicate(), prefix: `s${prefix}` });
    try {
      await intruder.add('apply', { ph: 1, payload: { steal: true }, timeoutMs: null }, { jobId: 'forged-1' });
      await until(() => seal.rejected('jobs.job', 'malformed') >= 1, 5_000, 'the forged job rejected');
      const forged = await q.get('apply/forged-1');
      expect(forged.state).toBe('dead');
      expect(forged.lastError).toContain('PH_FLEET_MESSAGE_REJECTED');

      // A sealed job whose payload was changed in Redis is refused too.
      const info = await q.enqueue({ type: 'apply', payload: { amount: 1 }, delayMs: 60_000 });
      const job = await intruder.getJob(info.id.slice('apply/'.length));
      await job!.updateData({ ...(job!.data as object), payload: { amount: 1_000_000 } });
      await job!.promote();
      await until(() => seal.rejected('jobs.job', 'signature') >= 1, 5_000, 'the altered job rejected');

      const real = await q.enqueue({ type: 'apply', payload: { amount: 2 } });
      await until(async () => (await q.get(real.id)).state === 'completed', 5_000, 'the real job done');
      expect(ran).toEqual([{ amount: 2 }]);
    } finally {
      await intruder.close();
    }
  });

  it('seals who enqueued a job: the creator shows, and a job whose creator was changed in Redis is refused', async () => {
    const intruder = new Queue('ph-apply', { connection: client.duplicate(), prefix: `s${prefix}` });
    try {
      const info = await q.enqueue({ type: 'apply', payload: { amount: 3 }, delayMs: 60_000, createdBy: 'key:k-alice' });
      expect((await q.get(info.id)).createdBy).toBe('key:k-alice');
      const job = await intruder.getJob(info.id.slice('apply/'.length));
      await job!.updateData({ ...(job!.data as object), createdBy: 'key:k-mallory' });
      await job!.promote();
      await until(() => seal.rejected('jobs.job', 'signature') >= 1, 5_000, 'the job with a changed creator rejected');
      await until(async () => (await q.get(info.id)).state === 'dead', 5_000, 'the job dead');
      expect(ran).toEqual([]);
    } finally {
      await intruder.close();
    }
  });

  it('ignores a cancel PUBLISHed without the fleet secret: the running job finishes', async () => {
    let release: () => void = () => undefined;
    q.register('slow', () => new Promise<string>((resolve) => (release = () => resolve('finished'))));
    const info = await q.enqueue({ type: 'slow', payload: null });
    await until(async () => (await q.get(info.id)).state === 'active', 5_000, 'the job running');
    await client.publish('ph:jobs:cancel', info.id);
    await until(() => seal.rejected('jobs.cancel', 'malformed') >= 1, 3_000, 'the forged cancel rejected');
    release();
    await until(async () => (await q.get(info.id)).state === 'completed', 5_000, 'the job completed');
  });
});
