import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BullmqJobQueue } from '../../main/batch';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';
import { startRedis, type TestRedis } from '../helpers/redis-server';

/** Runs `call` for 0..n-1, `width` at a time (thousands of HTTP calls without thousands of sockets at once). */
async function inWaves<T>(n: number, width: number, call: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let start = 0; start < n; start += width) {
    out.push(...(await Promise.all(Array.from({ length: Math.min(width, n - start) }, (_, k) => call(start + k)))));
  }
  return out;
}

describe('the BullMQ queues a node opens are the ones that exist, whatever names a caller sends', () => {
  let redis: TestRedis;
  let t: TestPlane;
  let queue: BullmqJobQueue;
  let viewer: string;

  beforeAll(async () => {
    redis = await startRedis();
    t = await startTestPlane({ redisUrl: redis.url });
    queue = t.plane.running.batch.distributed as BullmqJobQueue;
    const created = (await t.op('keys.create', { name: 'dashboard', role: 'viewer' })).body as { key: { id: string }; secret: string };
    viewer = created.secret;
    // The viewer's rate limit would stop it first; what is tested here is the map of queues, not the limit.
    expect((await t.op('ratelimit.keys.assign', { id: created.key.id, tier: 'unlimited' })).status).toBe(200);
  });
  afterAll(async () => {
    await t?.stop();
    await redis?.stop();
  });

  it('answers thousands of made-up job ids and types from a viewer without opening a queue for any of them', async () => {
    const types = (await t.op('jobs.stats', {}, viewer)).body.types as string[];
    expect(types).toContain('batch.apply');
    const operator = (await t.op('keys.create', { name: 'program', role: 'operator' })).body.secret as string;
    const real = await t.op('jobs.enqueue', { type: 'batch.apply', payload: { operations: [] }, delayMs: 60_000 }, operator);
    expect(real.status).toBe(200);
    const opened = queue.openQueues;

    const made = await inWaves(2000, 50, (i) => t.op('jobs.get', { id: `made-up-${i}/1` }, viewer));
    expect(made.every((r) => r.status === 404 && r.body.error.code === 'PH_BATCH_JOB_NOT_FOUND')).toBe(true);
    // A real type on a node that never announced a queue for it.
    const placed = await inWaves(500, 50, (i) => t.op('jobs.get', { id: `batch.apply@nowhere-${i}/1` }, viewer));
    expect(placed.every((r) => r.status === 404 && r.body.error.code === 'PH_BATCH_JOB_NOT_FOUND')).toBe(true);
    const listed = await inWaves(500, 50, (i) => t.op('jobs.list', { type: `listed-${i}` }, viewer));
    expect(listed.every((r) => r.status === 200 && r.body.total === 0 && r.body.jobs.length === 0)).toBe(true);

    expect(queue.openQueues).toBe(opened);
    expect((await t.op('system.status', {}, viewer)).body.services).toContainEqual(
      expect.objectContaining({ name: 'jobs', detail: expect.stringContaining(`${opened} queues open`) }),
    );
    const keys = await redis.client().keys('ph:ph-*');
    expect(keys.filter((k) => /made-up|listed-|@nowhere-/.test(k))).toEqual([]);

    // The queues that exist still answer.
    const found = await t.op('jobs.get', { id: real.body.job.id }, viewer);
    expect(found).toMatchObject({ status: 200, body: { job: { id: real.body.job.id, state: 'delayed' } } });
    expect((await t.op('jobs.list', { type: 'batch.apply' }, viewer)).body.total).toBe(1);
  });
});
