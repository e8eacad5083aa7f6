import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';
import { startRedis, type TestRedis } from '../helpers/redis-server';
import { waitFor } from './fixtures';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The job detail's operations on both queues: the SQLite one, and BullMQ on a private redis-server. */
describe.each(['sqlite', 'bullmq'] as const)('job detail operations on the %s queue', (backend) => {
  let redis: TestRedis | null = null;
  let plane: TestPlane;
  let viewer: string;

  beforeAll(async () => {
    if (backend === 'bullmq') redis = await startRedis();
    plane = await startTestPlane(redis === null ? {} : { redisUrl: redis.url });
    viewer = (await plane.op('keys.create', { name: 'watcher', role: 'viewer' })).body.secret;
    const queue = plane.plane.running.batch.queue;
    queue.register('detail.flaky', function failingHandler(payload) {
      throw new Error(`upstream said no to ${(payload as { n: number }).n}`);
    });
    queue.register('detail.steps', async (_payload, ctx) => {
      ctx.progress(0.25, 'first quarter');
      await sleep(1_100);
      ctx.progress(0.5, 'half way');
      await sleep(1_100);
      ctx.progress(1, 'all rows');
      return 'done';
    });
    queue.register('detail.quick', () => 'ok');
    queue.register('detail.other', () => {
      throw new Error('other type');
    });
    queue.register('detail.doomed', () => {
      throw new Error('doomed');
    });
  }, 30_000);
  afterAll(async () => {
    await plane?.stop();
    await redis?.stop();
  });

  const job = async (id: string) => (await plane.op('jobs.get', { id })).body;

  it('keeps every failed attempt with its coded error and the stack of the handler that threw, for operators only', async () => {
    const { body } = await plane.op('jobs.enqueue', { type: 'detail.flaky', payload: { n: 7 }, attempts: 2, backoffMs: 0 });
    await waitFor(async () => (await job(body.job.id)).job.state === 'dead', 15_000, 'the job to run out of attempts');
    const { status, body: trail } = await plane.op('jobs.attempts', { id: body.job.id });
    expect(status).toBe(200);
    expect(trail.attempts.map((a: { attempt: number }) => a.attempt)).toEqual([1, 2]);
    for (const a of trail.attempts) {
      expect(a.error).toBe('upstream said no to 7');
      expect(a.stack).toMatch(/^Error: upstream said no to 7\n\s+at (Object\.)?failingHandler/);
    }
    // A viewer sees the errors on the job, never a stack.
    const denied = await plane.op('jobs.attempts', { id: body.job.id }, viewer);
    expect(denied.status).toBe(403);
    expect(JSON.stringify((await plane.op('jobs.get', { id: body.job.id }, viewer)).body)).not.toContain('failingHandler');
  }, 30_000);

  it('keeps the newest ten attempts of a job that failed more often, numbered as they ran', async () => {
    const { body } = await plane.op('jobs.enqueue', { type: 'detail.flaky', payload: { n: 12 }, attempts: 12, backoffMs: 0 });
    await waitFor(async () => (await job(body.job.id)).job.state === 'dead', 20_000, 'twelve attempts to fail');
    const { attempts } = (await plane.op('jobs.attempts', { id: body.job.id })).body;
    expect(attempts.map((a: { attempt: number }) => a.attempt)).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  }, 30_000);

  it('records who enqueued a job, and its children, as the audit log names the caller', async () => {
    const operator = await plane.op('keys.create', { name: 'enqueuer', role: 'operator' });
    const { body } = await plane.op('jobs.enqueue', { type: 'detail.quick', children: [{ type: 'detail.quick' }] }, operator.body.secret);
    expect(body.job.createdBy).toBe(`key:${operator.body.key.id}`);
    const { children } = await job(body.job.id);
    expect(children.map((c: { createdBy: string }) => c.createdBy)).toEqual([`key:${operator.body.key.id}`]);
  }, 30_000);

  it('records the progress a job reports as a timeline, oldest first', async () => {
    const { body } = await plane.op('jobs.enqueue', { type: 'detail.steps' });
    await waitFor(async () => (await job(body.job.id)).job.state === 'completed', 15_000, 'the job to finish');
    const { timeline } = await job(body.job.id);
    expect(timeline.map((p: { progress: number; message: string }) => [p.progress, p.message])).toEqual([
      [0.25, 'first quarter'],
      [0.5, 'half way'],
      [1, 'all rows'],
    ]);
    const times = timeline.map((p: { at: string }) => Date.parse(p.at));
    expect(times[2] - times[0]).toBeGreaterThanOrEqual(2_000);
  }, 30_000);

  it('promotes a delayed job so it runs now, audited, and refuses one that is not delayed', async () => {
    const { body } = await plane.op('jobs.enqueue', { type: 'detail.quick', delayMs: 3_600_000 });
    expect(body.job.state).toBe('delayed');
    const promoted = await plane.op('jobs.promote', { id: body.job.id });
    expect(promoted.status).toBe(200);
    await waitFor(async () => (await job(body.job.id)).job.state === 'completed', 15_000, 'the promoted job to run');
    const again = await plane.op('jobs.promote', { id: body.job.id });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('PH_BATCH_JOB_NOT_DELAYED');
    expect((await plane.op('jobs.promote', { id: body.job.id }, viewer)).status).toBe(403);
    const audit = await plane.op('audit.list', { limit: 20 });
    expect(
      audit.body.entries.some((e: { action: string; target: string }) => e.action === 'jobs.promote' && e.target === body.job.id),
    ).toBe(true);
  }, 30_000);

  it('retries every dead job of one type and leaves the dead of other types', async () => {
    const doomed: string[] = [];
    for (let n = 0; n < 3; n += 1)
      doomed.push((await plane.op('jobs.enqueue', { type: 'detail.doomed', payload: { n }, attempts: 1 })).body.job.id);
    const other = (await plane.op('jobs.enqueue', { type: 'detail.other', attempts: 1 })).body.job.id;
    const deadOf = async (type: string) => (await plane.op('jobs.list', { state: 'dead', type, limit: 1 })).body.total as number;
    await waitFor(async () => (await deadOf('detail.doomed')) === 3 && (await deadOf('detail.other')) === 1, 15_000, 'every job to die');
    const { status, body } = await plane.op('jobs.retryDead', { type: 'detail.doomed' });
    expect(status).toBe(200);
    expect(body).toEqual({ retried: 3, failed: [] });
    expect((await job(other)).job.state).toBe('dead');
    // They run again and die again: each now has a second recorded attempt.
    for (const id of doomed)
      await waitFor(async () => (await plane.op('jobs.attempts', { id })).body.attempts.length === 2, 15_000, `the re-run of ${id}`);
  }, 30_000);
});
