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

  it('hands a job it cannot open back, never dead, while its own secret is not confirmed as the fleet’s; a node with the fleet secret runs it', async () => {
    const other = openTestDb();
    const wrongSeal = testSeal('node-wrong', 'a-wrong-fleet-secret-0123456789abcdef-xyz');
    const opts = { prefix: `s${prefix}` };
    const maker = new BullmqJobQueue(client, t.db, systemClock, silent, null, seal, { ...opts, nodeId: 'node-maker', work: false });
    const wrong = new BullmqJobQueue(client, other.db, systemClock, silent, null, wrongSeal, {
      ...opts,
      nodeId: 'node-wrong',
      secretConfirmed: () => false,
    });
    const right = new BullmqJobQueue(client, t.db, systemClock, silent, null, seal, { ...opts, nodeId: 'node-right' });
    const ranOnWrong: unknown[] = [];
    maker.register('deliver', () => 'unused');
    wrong.register('deliver', (payload) => ranOnWrong.push(payload));
    right.register('deliver', (payload) => {
      ran.push(payload);
      return 'delivered';
    });
    try {
      await maker.start();
      await wrong.start();
      const info = await maker.enqueue({ type: 'deliver', payload: { to: 'https://example.test/hook' } });
      await until(() => wrongSeal.rejected('jobs.job', 'signature') >= 1, 5_000, 'the job refused by the wrong secret');
      await until(async () => (await maker.get(info.id)).state === 'delayed', 5_000, 'the job handed back');
      const handedBack = await maker.get(info.id);
      expect(handedBack.attemptsMade).toBe(0);
      expect(wrong.status()).toMatchObject({ state: 'degraded', detail: expect.stringContaining('PH_FLEET_SECRET_MISMATCH') });
      await wrong.stop();
      await right.start();
      await until(async () => (await maker.get(info.id)).state === 'completed', 10_000, 'the job run by a node with the fleet secret');
      expect(ran).toEqual([{ to: 'https://example.test/hook' }]);
      expect(ranOnWrong).toEqual([]);
    } finally {
      for (const queue of [maker, wrong, right]) await queue.stop();
      other.close();
    }
  }, 20_000);

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
