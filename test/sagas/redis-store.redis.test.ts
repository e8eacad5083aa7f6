import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../main/clock';
import { REDIS_CALL_TIMEOUT_MS } from '../../main/redis';
import { RedisSagaStore } from '../../main/sagas/redis-saga-store';
import { testSeal } from '../helpers/fleet-secret';
import { startRedis, type TestRedis } from '../helpers/redis-server';
import { openSagaDb } from './fixtures';

/** Two nodes' saga stores (each its own SQLite) on one private Redis. */
describe('the fleet saga store on Redis', () => {
  let redis: TestRedis;
  const clients: Redis[] = [];
  const dbs: ReturnType<typeof openSagaDb>[] = [];
  let a: RedisSagaStore;
  let b: RedisSagaStore;

  const node = (name: string): RedisSagaStore => {
    const client = new Redis(redis.url, { maxRetriesPerRequest: 1, retryStrategy: (n) => Math.min(n * 200, 2_000) });
    client.on('error', () => undefined);
    clients.push(client);
    const t = openSagaDb();
    dbs.push(t);
    return new RedisSagaStore({ redis: client, db: t.db, seal: testSeal(name), clock: systemClock });
  };

  beforeAll(async () => {
    redis = await startRedis();
    a = node('node-a');
    b = node('node-b');
  });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    for (const t of dbs) t.close();
    await redis?.stop();
  });

  it('loses no change when two nodes write one saga at once (compare-and-set on its revision)', async () => {
    const { id } = await a.create({ id: 'race-1', type: 't', input: null, steps: ['one'] });
    const writes = Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).recordError(id, 0, 'action', `error ${i}`));
    await Promise.all([...writes, b.requestCancel(id, 'key:ops')]);
    const saga = await a.get(id);
    expect(saga.cancelRequested).toBe(true);
    expect(saga.steps[0]?.errors.map((e) => e.message).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `error ${i}`).sort());
  });

  it('returns the first saga for a repeated idempotency key, whichever node is asked', async () => {
    const first = await a.create({ id: 'key-1', type: 't', input: null, idempotencyKey: 'order-9', steps: ['one'] });
    const again = await b.create({ id: 'key-2', type: 't', input: null, idempotencyKey: 'order-9', steps: ['one'] });
    expect(first).toEqual({ id: 'key-1', created: true });
    expect(again).toEqual({ id: 'key-1', created: false });
  });

  it('a run that was taken over stops at its next write instead of mixing its state with the new run', async () => {
    const { id } = await a.create({ id: 'fence-1', type: 't', input: null, steps: ['one', 'two'] });
    const first = await a.claim(id);
    await first.actionStarted(id, 0);
    const second = await b.claim(id);
    await expect(first.actionDone(id, 0, 'late')).rejects.toMatchObject({ name: 'SagaTakenOver' });
    await second.actionDone(id, 0, 'on time');
    expect((await b.steps(id))[0]).toMatchObject({ state: 'done', result: 'on time' });
  });

  it('lists a page of the fleet index newest first, full and truly counted after a saga expired', async () => {
    const before = (await a.list({ limit: 1 })).total;
    for (let i = 1; i <= 5; i += 1) await a.create({ id: `page-${i}`, type: 'paged', input: null, steps: ['one'] });
    await clients[0]!.config('RESETSTAT');
    const first = await b.list({ limit: 3 });
    expect(first.sagas.map((s) => s.id)).toEqual(['page-5', 'page-4', 'page-3']);
    expect(first.total).toBe(before + 5);
    // Only the page's sagas were read, not every saga of the index.
    expect(await clients[0]!.info('commandstats')).toMatch(/cmdstat_hget:calls=3,/);
    // An ended saga's key expires in Redis while its index entry stays.
    await clients[0]!.del('ph:saga:page-4');
    const after = await b.list({ limit: 3 });
    expect(after.sagas.map((s) => s.id)).toEqual(['page-5', 'page-3', 'page-2']);
    expect(after.total).toBe(before + 4);
    expect((await a.list({ offset: 1, limit: 2 })).sagas.map((s) => s.id)).toEqual(['page-3', 'page-2']);
    expect((await a.list({ type: 'paged', limit: 3 })).sagas.map((s) => s.id)).toEqual(['page-5', 'page-3', 'page-2']);
  });

  it("while Redis is down: reads answer from the node's own copies, a new saga is refused with PH_REDIS_UNAVAILABLE", async () => {
    const { id } = await a.create({ id: 'down-1', type: 't', input: { n: 1 }, steps: ['one'] });
    await a.setJob(id, 'job-1');
    await redis.kill();
    try {
      expect(await a.get(id)).toMatchObject({ id, jobId: 'job-1', input: { n: 1 } });
      expect((await a.list({})).sagas.map((s) => s.id)).toContain(id);
      await expect(b.get(id)).rejects.toMatchObject({ code: 'PH_SAGA_NOT_FOUND' });
      await expect(a.create({ id: 'down-2', type: 't', input: null, steps: ['one'] })).rejects.toMatchObject({
        code: 'PH_REDIS_UNAVAILABLE',
      });
    } finally {
      await redis.restart();
    }
  });

  it("while Redis is stopped (SIGSTOP): get and list answer from the node's own copies within the Redis deadline", async () => {
    const { id } = await a.create({ id: 'hung-1', type: 'hung', input: { n: 2 }, steps: ['one'] });
    redis.pause();
    try {
      const timed = async <T>(read: Promise<T>): Promise<T> => {
        const started = performance.now();
        const answer = await read;
        expect(performance.now() - started).toBeLessThan(REDIS_CALL_TIMEOUT_MS + 1_000);
        return answer;
      };
      const [got, page, filtered] = await Promise.all([timed(a.get(id)), timed(a.list({})), timed(a.list({ type: 'hung' }))]);
      expect(got).toMatchObject({ id, input: { n: 2 } });
      expect(page.sagas.map((s) => s.id)).toContain(id);
      expect(filtered.sagas.map((s) => s.id)).toEqual([id]);
    } finally {
      redis.resume();
    }
  });

  it('after Redis comes back empty, the newest copy any node holds is published again and its saga listed', async () => {
    const { id } = await a.create({ id: 'empty-1', type: 't', input: null, steps: ['one', 'two'] });
    const run = await b.claim(id);
    await run.actionStarted(id, 0);
    await run.actionDone(id, 0, 'one done');
    await clients[0]!.flushall();
    // Node a holds only the saga as created; node b, which ran step one, holds the newer copy.
    expect(await a.republish()).toContainEqual({ id, node: null });
    expect(await b.republish()).toContainEqual({ id, node: null });
    const saga = await a.get(id);
    expect(saga.steps.map((s) => s.state)).toEqual(['done', 'pending']);
    expect((await b.list({})).sagas.map((s) => s.id)).toContain(id);
  });
});
