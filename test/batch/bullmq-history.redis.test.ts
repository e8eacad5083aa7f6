import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { BullmqJobQueue } from '../../main/batch';
import { systemClock } from '../../main/clock';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';
import { testSeal } from '../helpers/fleet-secret';
import { startRedis, type TestRedis } from '../helpers/redis-server';
import { openTestDb, silent, waitFor } from './fixtures';

const DAY = 86_400_000;

describe('job history on BullMQ follows the retention config', () => {
  let redis: TestRedis;
  let client: Redis;
  let prefix = 0;
  const cleanups: (() => Promise<void> | void)[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  afterAll(async () => {
    client.disconnect();
    await redis.stop();
  });

  function queue(history: { keepCompletedMs: number; keepCompletedCount: number; keepDeadMs: number; keepDeadCount: number }) {
    const t = openTestDb();
    prefix += 1;
    const q = new BullmqJobQueue(client, t.db, systemClock, silent, null, testSeal('node-h'), { prefix: `h${prefix}`, history });
    cleanups.push(async () => {
      await q.stop();
      t.close();
    });
    return q;
  }

  it('keeps only the newest completed and dead jobs up to their counts', async () => {
    const q = queue({ keepCompletedMs: DAY, keepCompletedCount: 3, keepDeadMs: DAY, keepDeadCount: 2 });
    let ran = 0;
    q.register(
      'ok',
      (payload) => {
        ran += 1;
        return payload;
      },
      { concurrency: 1 },
    );
    q.register(
      'bad',
      () => {
        ran += 1;
        throw new Error('always');
      },
      { concurrency: 1 },
    );
    await q.start();
    for (let i = 0; i < 6; i += 1) await q.enqueue({ type: 'ok', payload: i });
    for (let i = 0; i < 4; i += 1) await q.enqueue({ type: 'bad', payload: i, attempts: 1 });
    const counts = async () => Object.fromEntries((await q.stats()).map((s) => [s.type, s.counts]));
    await waitFor(
      async () => {
        const c = await counts();
        return ran === 10 && c.ok?.active === 0 && c.ok.waiting === 0 && c.bad?.active === 0 && c.bad.waiting === 0;
      },
      10_000,
      'every job to end',
    );
    const c = await counts();
    expect(c.ok?.completed).toBe(3);
    expect(c.bad?.dead).toBe(2);
    // The newest stay: the handlers ran one at a time in the order enqueued.
    const kept = (await q.list({ type: 'ok', state: 'completed' })).jobs.map((j) => j.payload as number);
    expect(kept.sort()).toEqual([3, 4, 5]);
  });

  it('drops a completed job, and its result, past their age when the next one of its queue ends', async () => {
    const q = queue({ keepCompletedMs: 1000, keepCompletedCount: 1000, keepDeadMs: 1000, keepDeadCount: 1000 });
    q.register('ok', (payload) => payload, { concurrency: 1 });
    await q.start();
    const first = await q.enqueue({ type: 'ok', payload: 'first' });
    await waitFor(async () => (await q.get(first.id)).state === 'completed', 5_000, 'the first job to complete');
    const finishedAt = Date.parse((await q.get(first.id)).finishedAt as string);
    // BullMQ judges age in whole seconds against its own clock: the wait is past the window, not a guess.
    await waitFor(() => Date.now() > finishedAt + 2000, 5_000, 'the first job to pass its age');
    const second = await q.enqueue({ type: 'ok', payload: 'second' });
    await waitFor(async () => (await q.get(second.id)).state === 'completed', 5_000, 'the second job to complete');
    const completed = (await q.list({ type: 'ok', state: 'completed' })).jobs.map((j) => j.payload);
    expect(completed).toEqual(['second']);
    // The result guard is kept as long as the longest job-history window, here and in Redis.
    expect(q.results.local(first.id)).toBeUndefined();
    expect(q.results.local(second.id)).toEqual({ result: 'second' });
    const ttl = await client.pttl(`h${prefix}:jobs:result:${second.id}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(1000);
  });

  describe('through the control plane', () => {
    let t: TestPlane | undefined;
    afterEach(async () => {
      await t?.stop();
      t = undefined;
    });

    it('takes completedJobCount from the config for the jobs programs enqueue', async () => {
      t = await startTestPlane({ redisUrl: redis.url, retention: { completedJobCount: 10 } });
      const ids: string[] = [];
      for (let i = 0; i < 12; i += 1) {
        const operations = [{ resource: 'record', action: 'create', id: `h-${i}`, data: { collection: 'history', n: i } }];
        const res = await t.op('jobs.enqueue', { type: 'batch.apply', payload: { mode: 'atomic', operations } });
        expect(res.status).toBe(200);
        ids.push(res.body.job.id as string);
      }
      const counts = async () =>
        ((await t!.op('jobs.stats', {})).body.queues as { type: string; counts: Record<string, number> }[]).find(
          (q) => q.type === 'batch.apply',
        )?.counts;
      await waitFor(
        async () => {
          const c = await counts();
          return c !== undefined && c.waiting === 0 && c.active === 0 && c.delayed === 0 && (c.completed ?? 0) + (c.dead ?? 0) >= 10;
        },
        20_000,
        'every batch job to end',
      );
      expect((await counts())?.completed).toBe(10);
      expect((await counts())?.dead).toBe(0);
    });
  });
});
