import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import type { EventMessage } from '../../contract/events';
import { BullmqJobQueue, type JobInfo } from '../../main/batch';
import { systemClock } from '../../main/clock';
import { EventBus } from '../../main/events';
import { startTestPlane } from '../helpers/control-plane';
import { startRedis, type TestRedis } from '../helpers/redis-server';
import { openTestDb, silent, waitFor } from './fixtures';
import { testSeal } from '../helpers/fleet-secret';

describe('BullMQ job queue (with Redis)', () => {
  let redis: TestRedis;
  let client: Redis;
  let t: ReturnType<typeof openTestDb>;
  let q: BullmqJobQueue;
  let events: EventMessage[];
  let prefix = 0;

  beforeAll(async () => {
    redis = await startRedis();
    client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    client.disconnect();
    await redis.stop();
  });
  beforeEach(() => {
    t = openTestDb();
    const bus = new EventBus();
    events = [];
    bus.subscribe((m) => events.push(m));
    prefix += 1;
    q = new BullmqJobQueue(client, t.db, systemClock, silent, bus, testSeal('node-q'), { prefix: `t${prefix}` });
  });
  afterEach(async () => {
    await q.stop();
    t.close();
  });

  it('runs jobs with the same handlers, priorities first, and reports them', async () => {
    const order: string[] = [];
    q.register(
      'p',
      (payload, ctx) => {
        ctx.progress(0.5, 'half');
        order.push(payload as string);
        return `did ${payload as string}`;
      },
      { concurrency: 1 },
    );
    await q.start();
    // Park the worker on a delayed job-free queue first so the three are waiting together.
    await q.enqueueBulk([
      { type: 'p', payload: 'low', priority: -10, delayMs: 200 },
      { type: 'p', payload: 'high', priority: 10, delayMs: 200 },
      { type: 'p', payload: 'mid', delayMs: 200 },
    ]);
    await waitFor(() => order.length === 3, 5_000);
    expect(order).toEqual(['high', 'mid', 'low']);
    const { jobs } = await q.list({ type: 'p', state: 'completed' });
    expect(jobs.map((j) => j.result).sort()).toEqual(['did high', 'did low', 'did mid']);
    expect(events.some((e) => e.event === 'jobs.progress' && e.payload.message === 'half')).toBe(true);
    expect((await q.stats())[0]?.counts.completed).toBe(3);
  });

  it('returns the first job for a second enqueue with the same idempotency key', async () => {
    await q.start();
    const a = await q.enqueue({ type: 'k', idempotencyKey: 'import-1', payload: 1, delayMs: 60_000 });
    const b = await q.enqueue({ type: 'k', idempotencyKey: 'import-1', payload: 2, delayMs: 60_000 });
    expect(b.id).toBe(a.id);
    expect((await q.get(a.id)).payload).toBe(1);
    expect(a.state).toBe('delayed');
    // The key as the caller wrote it, not the hash the job id is made of.
    expect([a.idempotencyKey, b.idempotencyKey, (await q.get(a.id)).idempotencyKey]).toEqual(['import-1', 'import-1', 'import-1']);
    expect((await q.list({ type: 'k' })).jobs.find((j) => j.id === a.id)?.idempotencyKey).toBe('import-1');
  });

  it('retries with backoff and moves an exhausted job to the dead letters', async () => {
    q.register('bad', () => {
      throw new Error('always');
    });
    await q.start();
    const job = await q.enqueue({ type: 'bad', attempts: 2, backoffMs: 10 });
    await waitFor(async () => (await q.get(job.id)).state === 'dead', 5_000);
    const dead = await q.get(job.id);
    expect(dead.lastError).toBe('always');
    expect(dead.attemptsMade).toBe(2);
    await q.retry(job.id);
    await waitFor(async () => (await q.get(job.id)).attemptsMade >= 1 && (await q.get(job.id)).state === 'dead', 5_000);
  });

  it("cancellation reaches the running handler's AbortSignal within a second and ends it cancelled", async () => {
    let started = false;
    let abortedAt = 0;
    q.register('long', (_p, ctx) => {
      started = true;
      return new Promise((_, reject) =>
        ctx.signal.addEventListener('abort', () => ((abortedAt = performance.now()), reject(ctx.signal.reason))),
      );
    });
    await q.start();
    const job = await q.enqueue({ type: 'long', attempts: 3 });
    await waitFor(() => started, 5_000);
    const before = performance.now();
    await q.cancel(job.id);
    await waitFor(() => abortedAt > 0, 1_000);
    expect(abortedAt).toBeGreaterThanOrEqual(before); // the cancel, within the wait's second, and not before it
    await waitFor(async () => (await q.get(job.id)).state === 'cancelled', 5_000);
  });

  it('a parent whose child fails never stays waiting (fail-parent), and runs after an ignored failure', async () => {
    let parentRuns = 0;
    let saw: JobInfo[] = [];
    q.register('parent', async (_p, ctx) => {
      parentRuns += 1;
      saw = await ctx.children();
      return 'parent ok';
    });
    q.register('child', (payload) => {
      if ((payload as { fail: boolean }).fail) throw new Error('child broke');
      return 'child ok';
    });
    await q.start();
    const failing = await q.enqueue({
      type: 'parent',
      children: [
        { type: 'child', payload: { fail: true }, attempts: 1 },
        { type: 'child', payload: { fail: false } },
      ],
    });
    expect(failing.state).toBe('waiting-children');
    await waitFor(async () => (await q.get(failing.id)).state === 'dead', 5_000);
    const ignoring = await q.enqueue({
      type: 'parent',
      children: [
        { type: 'child', payload: { fail: true }, attempts: 1, policy: 'ignore' },
        { type: 'child', payload: { fail: false } },
      ],
    });
    await waitFor(async () => (await q.get(ignoring.id)).state === 'completed', 5_000);
    expect(parentRuns).toBe(1);
    expect(saw.map((c) => c.state).sort()).toEqual(['completed', 'dead']);
    // Both parents' children in one call (as GraphQL's children level asks), a parent BullMQ let go counting as none.
    const both = await q.list({ parentIds: [failing.id, ignoring.id, 'parent@gone:1'] });
    const one = await Promise.all([failing.id, ignoring.id].map((parentId) => q.list({ parentId })));
    expect(both.total).toBe(one[0]!.total + one[1]!.total);
    expect(both.jobs.map((j) => j.id).sort()).toEqual([...one[0]!.jobs, ...one[1]!.jobs].map((j) => j.id).sort());
    expect(both.jobs.filter((j) => j.parentId === ignoring.id)).toHaveLength(2);
  });

  it('times a job out through its signal', async () => {
    q.register('slow', (_p, ctx) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason))));
    await q.start();
    const job = await q.enqueue({ type: 'slow', timeoutMs: 50, attempts: 1 });
    await waitFor(async () => (await q.get(job.id)).state === 'dead', 5_000);
    expect((await q.get(job.id)).lastError).toBe('The job timed out after 50 ms');
  });

  it('two nodes share the work of one queue, and a cancel on one node reaches a handler on the other within a second', async () => {
    const t2 = openTestDb();
    const other = new BullmqJobQueue(client, t2.db, systemClock, silent, null, testSeal('node-other'), { prefix: `t${prefix}` });
    const ranOn = new Map<string, string>();
    let abortedAt = 0;
    let blockerStarted = false;
    const handler = (node: string) => async (payload: unknown, ctx: { id: string; signal: AbortSignal }) => {
      if ((payload as { block?: boolean }).block === true) {
        blockerStarted = true;
        await new Promise((_, reject) =>
          ctx.signal.addEventListener('abort', () => ((abortedAt = performance.now()), reject(ctx.signal.reason))),
        );
      }
      await new Promise((r) => setTimeout(r, 20));
      ranOn.set(ctx.id, node);
    };
    q.register('shared', handler('a'), { concurrency: 2 });
    other.register('shared', handler('b'), { concurrency: 2 });
    try {
      await q.start();
      await other.start();
      await q.enqueueBulk(Array.from({ length: 40 }, (_, i) => ({ type: 'shared', payload: { i } })));
      await waitFor(() => ranOn.size === 40, 10_000, 'all 40 jobs');
      expect(new Set(ranOn.values())).toEqual(new Set(['a', 'b']));
      // Only node b works from here on; the cancel is sent from node a.
      await q.stop();
      q = new BullmqJobQueue(client, t.db, systemClock, silent, null, testSeal('node-q'), { prefix: `t${prefix}`, work: false });
      await q.start();
      const blocker = await q.enqueue({ type: 'shared', payload: { block: true } });
      await waitFor(() => blockerStarted, 5_000);
      const before = performance.now();
      await q.cancel(blocker.id);
      await waitFor(() => abortedAt > 0, 1_000);
      expect(abortedAt).toBeGreaterThanOrEqual(before); // the cancel, within the wait's second, and not before it
      await waitFor(async () => (await q.get(blocker.id)).state === 'cancelled', 5_000);
    } finally {
      await other.stop();
      t2.close();
    }
  });

  it('a control plane with a Redis URL uses the BullMQ backend through the same operations', async () => {
    const p = await startTestPlane({ redisUrl: redis.url });
    try {
      const stats = await p.op('jobs.stats');
      expect(stats.body.backend).toBe('bullmq');
      const submit = await p.op('batch.submit', {
        background: true,
        batch: { operations: [{ resource: 'record', action: 'create', id: 'r', data: { collection: 'c' } }] },
      });
      const id = submit.body.jobId as string;
      await waitFor(async () => (await p.op('jobs.get', { id })).body.job?.state === 'completed', 5_000);
      expect((await p.op('jobs.get', { id })).body.job.result.status).toBe('succeeded');
    } finally {
      await p.stop();
    }
  });

  it('refuses a jobs.list offset past 100,000 as input (400), where BullMQ failed on the range (a 500 before)', async () => {
    const p = await startTestPlane({ redisUrl: redis.url });
    try {
      const refused = await fetch(`${p.url}/api/v2/jobs?offset=99999999999999999999`, {
        headers: { authorization: `Bearer ${p.adminKey}` },
      });
      expect(refused.status).toBe(400);
      expect(((await refused.json()) as { error: unknown }).error).toMatchObject({ code: 'PH_INVALID_INPUT', field: 'offset' });
      expect((await p.op('jobs.list', { offset: 100_000 })).body).toMatchObject({ jobs: [] });
    } finally {
      await p.stop();
    }
  });

  it('answers 404 PH_BATCH_JOB_NOT_FOUND, not a 500, for an id whose node part no queue name can hold', async () => {
    await q.start();
    await expect(q.get('p@node:1/7')).rejects.toMatchObject({ code: 'PH_BATCH_JOB_NOT_FOUND' });
    await expect(q.list({ parentId: 'p@a:b/1' })).rejects.toMatchObject({ code: 'PH_BATCH_JOB_NOT_FOUND' });
    await expect(q.cancel('p@a:b/1')).rejects.toMatchObject({ code: 'PH_BATCH_JOB_NOT_FOUND' });
  });
});
