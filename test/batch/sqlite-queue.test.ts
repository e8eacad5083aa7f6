import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EventMessage } from '../../contract/events';
import { backoffDelay, SqliteJobQueue, type SqliteJobQueueOptions } from '../../main/batch';
import { systemClock } from '../../main/clock';
import { EventBus } from '../../main/events';
import { openTestDb, silent, waitFor } from './fixtures';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('SQLite job queue', () => {
  let t: ReturnType<typeof openTestDb>;
  let bus: EventBus;
  let events: EventMessage[];
  const queues: SqliteJobQueue[] = [];
  const make = (options: SqliteJobQueueOptions = {}) => {
    const q = new SqliteJobQueue(t.db, systemClock, silent, bus, { pollMs: 20, ...options });
    queues.push(q);
    return q;
  };

  beforeEach(() => {
    t = openTestDb();
    bus = new EventBus();
    events = [];
    bus.subscribe((m) => events.push(m));
  });
  afterEach(async () => {
    for (const q of queues.splice(0)) await q.stop();
    t.close();
  });

  it('runs higher priorities first, then in order of arrival', async () => {
    const q = make();
    const order: string[] = [];
    q.register('p', (payload) => void order.push(payload as string), { concurrency: 1 });
    await q.enqueue({ type: 'p', payload: 'low-1', priority: -5 });
    await q.enqueue({ type: 'p', payload: 'mid-1' });
    await q.enqueue({ type: 'p', payload: 'high', priority: 50 });
    await q.enqueue({ type: 'p', payload: 'mid-2' });
    await q.start();
    await waitFor(() => order.length === 4);
    expect(order).toEqual(['high', 'mid-1', 'mid-2', 'low-1']);
  });

  it('holds a delayed job until its runAt, showing it as delayed meanwhile', async () => {
    const q = make();
    let ranAt = 0;
    q.register('d', () => void (ranAt = Date.now()));
    await q.start();
    const enqueuedAt = Date.now();
    const job = await q.enqueue({ type: 'd', delayMs: 300 });
    expect(job.state).toBe('delayed');
    expect((await q.list({ state: 'delayed' })).total).toBe(1);
    await waitFor(() => ranAt > 0);
    expect(ranAt - enqueuedAt).toBeGreaterThanOrEqual(290);
  });

  it('retries a failing job with backoff and keeps each attempt error', async () => {
    const q = make();
    const times: number[] = [];
    q.register('flaky', () => {
      times.push(Date.now());
      if (times.length < 3) throw new Error(`boom ${times.length}`);
      return 'ok';
    });
    await q.start();
    const { id } = await q.enqueue({ type: 'flaky', attempts: 3, backoffMs: 100 });
    await waitFor(async () => (await q.get(id)).state === 'completed');
    const job = await q.get(id);
    expect(job.attemptsMade).toBe(3);
    expect(job.result).toBe('ok');
    expect(job.errors).toEqual(['attempt 1: boom 1', 'attempt 2: boom 2']);
    // Equal jitter: at least half the nominal delay (100 ms, then 200 ms).
    expect((times[1] as number) - (times[0] as number)).toBeGreaterThanOrEqual(45);
    expect((times[2] as number) - (times[1] as number)).toBeGreaterThanOrEqual(95);
  });

  it('backoff doubles per attempt, is jittered between half and all of it, and is capped', () => {
    expect(backoffDelay(1000, 1, () => 0)).toBe(500);
    expect(backoffDelay(1000, 1, () => 1)).toBe(1000);
    expect(backoffDelay(1000, 3, () => 0)).toBe(2000);
    expect(backoffDelay(1000, 40, () => 1)).toBe(3600_000);
    expect(backoffDelay(0, 5)).toBe(0);
  });

  it('moves a job out of attempts to the dead letters with its last error', async () => {
    const q = make();
    q.register('bad', () => {
      throw new Error('always');
    });
    await q.start();
    const { id } = await q.enqueue({ type: 'bad', attempts: 2, backoffMs: 0 });
    await waitFor(async () => (await q.get(id)).state === 'dead');
    const job = await q.get(id);
    expect(job.lastError).toBe('always');
    expect(job.attemptsMade).toBe(2);
    expect((await q.list({ state: 'dead' })).jobs.map((j) => j.id)).toEqual([id]);
    const again = await q.retry(id);
    expect(again.state).toBe('waiting');
    expect(again.attemptsMade).toBe(0);
  });

  it('times a job out, aborting its signal, and counts it as a failed attempt', async () => {
    const q = make();
    let reason: unknown;
    q.register(
      'slow',
      (_p, ctx) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject((reason = ctx.signal.reason)))),
    );
    await q.start();
    const { id } = await q.enqueue({ type: 'slow', timeoutMs: 50, attempts: 1 });
    await waitFor(async () => (await q.get(id)).state === 'dead');
    expect((reason as Error).name).toBe('JobTimedOut');
    expect((await q.get(id)).lastError).toBe('The job timed out after 50 ms');
  });

  it('returns the first job for a second enqueue with the same idempotency key', async () => {
    const q = make();
    const a = await q.enqueue({ type: 'x', idempotencyKey: 'import-42', payload: 1 });
    const b = await q.enqueue({ type: 'x', idempotencyKey: 'import-42', payload: 2 });
    expect(b.id).toBe(a.id);
    expect(b.payload).toBe(1);
    expect((await q.list()).total).toBe(1);
  });

  it('repeats a cron job after each run', async () => {
    const q = make();
    let runs = 0;
    q.register('tick', () => void (runs += 1));
    await q.start();
    const first = await q.enqueue({ type: 'tick', repeat: { cron: '* * * * * *' } });
    expect(first.state).toBe('delayed');
    expect(first.repeatCron).toBe('* * * * * *');
    await waitFor(() => runs >= 2, 4_000, 'two cron runs');
    await waitFor(async () => (await q.list({ type: 'tick', state: 'completed' })).total >= 2);
    await waitFor(async () => (await q.list({ type: 'tick', state: 'delayed' })).total === 1, 1_000, 'the next run to be scheduled');
    expect((await q.list({ type: 'tick' })).jobs.every((j) => j.repeatCron === '* * * * * *')).toBe(true);
  });

  it('runs at most the configured concurrency per job type', async () => {
    const q = make();
    let running = 0;
    let peak = 0;
    let otherPeak = 0;
    let other = 0;
    q.register(
      'limited',
      async () => {
        running += 1;
        peak = Math.max(peak, running);
        await sleep(30);
        running -= 1;
      },
      { concurrency: 2 },
    );
    q.register(
      'wide',
      async () => {
        other += 1;
        otherPeak = Math.max(otherPeak, other);
        await sleep(30);
        other -= 1;
      },
      { concurrency: 5 },
    );
    await q.enqueueBulk(Array.from({ length: 8 }, () => ({ type: 'limited' })));
    await q.enqueueBulk(Array.from({ length: 10 }, () => ({ type: 'wide' })));
    await q.start();
    await waitFor(async () => (await q.list({ state: 'completed' })).total === 18);
    expect(peak).toBe(2);
    expect(otherPeak).toBe(5);
  });

  it("cancellation reaches the running handler's AbortSignal within a second", async () => {
    const q = make();
    let started = false;
    let abortedAt = 0;
    q.register('long', (_p, ctx) => {
      started = true;
      return new Promise((_, reject) =>
        ctx.signal.addEventListener('abort', () => {
          abortedAt = performance.now();
          reject(ctx.signal.reason);
        }),
      );
    });
    await q.start();
    const { id } = await q.enqueue({ type: 'long' });
    await waitFor(() => started);
    const cancelledAt = performance.now();
    await q.cancel(id);
    await waitFor(() => abortedAt > 0, 1_000);
    expect(abortedAt).toBeGreaterThanOrEqual(cancelledAt); // the cancel, within the wait's second, and not before it
    await waitFor(async () => (await q.get(id)).state === 'cancelled', 1_000);
    expect(events.some((e) => e.event === 'jobs.changed' && e.payload.id === id && e.payload.state === 'cancelled')).toBe(true);
  });

  it('frees the slot of a cancelled handler that ignores its signal', async () => {
    const q = make();
    let runs = 0;
    q.register(
      'stubborn',
      () => {
        runs += 1;
        return runs === 1 ? new Promise(() => undefined) : 'second';
      },
      { concurrency: 1 },
    );
    await q.start();
    const { id } = await q.enqueue({ type: 'stubborn' });
    await waitFor(() => runs === 1);
    const second = await q.enqueue({ type: 'stubborn' });
    await q.cancel(id);
    await waitFor(async () => (await q.get(second.id)).state === 'completed');
    expect((await q.get(id)).state).toBe('cancelled');
  });

  it('cancels a waiting job before it runs, and refuses to cancel an ended one', async () => {
    const q = make();
    const job = await q.enqueue({ type: 'never', delayMs: 60_000 });
    expect((await q.cancel(job.id)).state).toBe('cancelled');
    await expect(q.cancel(job.id)).rejects.toMatchObject({ code: 'PH_BATCH_JOB_NOT_CANCELLABLE' });
    await expect(q.get('999999')).rejects.toMatchObject({ code: 'PH_BATCH_JOB_NOT_FOUND' });
  });

  it('persists progress and publishes it live', async () => {
    const q = make();
    let release!: () => void;
    q.register('prog', async (_p, ctx) => {
      ctx.progress(0.25, 'a quarter');
      ctx.log('working');
      await new Promise<void>((r) => (release = r));
      ctx.progress(1, 'done');
    });
    await q.start();
    const { id } = await q.enqueue({ type: 'prog' });
    await waitFor(async () => (await q.get(id)).progress === 0.25);
    expect((await q.get(id)).progressMessage).toBe('a quarter');
    expect(events).toContainEqual({ event: 'jobs.progress', payload: { id, type: 'prog', progress: 0.25, message: 'a quarter' } });
    release();
    await waitFor(async () => (await q.get(id)).state === 'completed');
    expect((await q.logs(id)).map((l) => l.message)).toEqual(['working']);
  });

  it("makes a dead worker's job claimable again within 10 s", async () => {
    const q = make();
    // Another worker claimed the job and then died: no heartbeat will come.
    const job = await q.enqueue({ type: 'orphan' });
    q.store.claim('orphan', 1, 'dead-worker', Date.now(), 5_000);
    expect((await q.get(job.id)).state).toBe('active');
    let ranAt = 0;
    q.register('orphan', () => void (ranAt = Date.now()));
    const diedAt = Date.now();
    await q.start();
    await waitFor(() => ranAt > 0, 10_000, 'the orphaned job to run');
    expect(ranAt - diedAt).toBeLessThan(10_000);
    const done = await q.get(job.id);
    expect(done.attemptsMade).toBe(2);
    expect(done.errors[0]).toMatch(/dead-worker stopped \(lease expired\)/);
  }, 15_000);

  it('keeps a lease alive by heartbeat while a job runs longer than the lease', async () => {
    const q = make({ leaseMs: 300, heartbeatMs: 50 });
    let runs = 0;
    q.register('marathon', async () => {
      runs += 1;
      await sleep(900);
    });
    await q.start();
    const { id } = await q.enqueue({ type: 'marathon' });
    await waitFor(async () => (await q.get(id)).state === 'completed', 3_000);
    expect(runs).toBe(1);
    expect((await q.get(id)).attemptsMade).toBe(1);
  });

  it('hands running jobs back on stop without spending an attempt', async () => {
    const q = make({ drainMs: 50 });
    q.register('held', (_p, ctx) => new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason))));
    await q.start();
    const { id } = await q.enqueue({ type: 'held' });
    await waitFor(async () => (await q.get(id)).state === 'active');
    await q.stop();
    const job = await q.get(id);
    expect(job.state).toBe('waiting');
    expect(job.attemptsMade).toBe(0);
  });

  it('runs a once() effect a single time across re-runs of the job', async () => {
    t.db.exec('CREATE TABLE sent (k TEXT)');
    const q = make();
    let runs = 0;
    q.register('mail', (_p, ctx) => {
      runs += 1;
      const r = ctx.once('send', (db) => {
        db.prepare('INSERT INTO sent (k) VALUES (?)').run(ctx.idempotencyKey);
        return runs;
      });
      if (runs < 3) throw new Error('crash after the effect');
      return r;
    });
    await q.start();
    const { id } = await q.enqueue({ type: 'mail', idempotencyKey: 'welcome-7', backoffMs: 0 });
    await waitFor(async () => (await q.get(id)).state === 'completed');
    expect(runs).toBe(3);
    expect((await q.get(id)).result).toBe(1);
    expect(t.db.prepare('SELECT count(*) AS n FROM sent').get()).toEqual({ n: 1 });
  });

  it("never gives a deleted newest job's id to the next job, whose once() effect then runs", async () => {
    const q = make();
    const sent: string[] = [];
    q.register('mail', (payload, ctx) => ctx.once('send', () => sent.push((payload as { to: string }).to)));
    await q.start();
    const first = await q.enqueue({ type: 'mail', payload: { to: 'ann' } });
    await waitFor(async () => (await q.get(first.id)).state === 'completed');
    await q.remove(first.id);
    const second = await q.enqueue({ type: 'mail', payload: { to: 'bob' } });
    expect(Number(second.id)).toBeGreaterThan(Number(first.id));
    await waitFor(async () => (await q.get(second.id)).state === 'completed');
    expect(sent).toEqual(['ann', 'bob']);
  });

  it('prunes ended jobs beyond the count kept, newest kept', async () => {
    const q = make();
    q.register('p', () => undefined);
    await q.enqueueBulk(Array.from({ length: 5 }, () => ({ type: 'p' })));
    await q.start();
    await waitFor(async () => (await q.list({ state: 'completed' })).total === 5);
    const removed = q.store.prune(Date.now(), {
      keepCompletedMs: 3600_000,
      keepCompletedCount: 2,
      keepDeadMs: 3600_000,
      keepDeadCount: 10,
    });
    expect(removed).toBe(3);
    expect((await q.list()).total).toBe(2);
    expect(
      q.store.prune(Date.now() + 7200_000, { keepCompletedMs: 3600_000, keepCompletedCount: 2, keepDeadMs: 3600_000, keepDeadCount: 10 }),
    ).toBe(2);
  });

  it('reports counts per type and state, and throughput', async () => {
    const q = make();
    q.register('s', () => undefined);
    await q.enqueue({ type: 's' });
    await q.enqueue({ type: 'later', delayMs: 60_000 });
    await q.start();
    await waitFor(async () => (await q.list({ state: 'completed' })).total === 1);
    const stats = await q.stats();
    const s = stats.find((x) => x.type === 's');
    expect(s?.counts.completed).toBe(1);
    expect(s?.throughput.reduce((a, b) => a + b.completed, 0)).toBe(1);
    expect(stats.find((x) => x.type === 'later')?.counts.delayed).toBe(1);
  });
});
