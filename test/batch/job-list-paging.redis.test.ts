import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BullmqJobQueue, SqliteJobQueue, type JobQueue } from '../../main/batch';
import { systemClock } from '../../main/clock';
import { EventBus } from '../../main/events';
import { testSeal } from '../helpers/fleet-secret';
import { startRedis, type TestRedis } from '../helpers/redis-server';
import { openTestDb, silent } from './fixtures';

/** No handler is registered for it: its jobs stay waiting, so a list shows what was enqueued. */
const TYPE = 'paging.idle';
const PAGE = 5;

async function enqueue(q: JobQueue, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i += 1) ids.push((await q.enqueue({ type: TYPE, payload: { i } })).id);
  return ids;
}

/** Pages the list with nextCursor, enqueuing three jobs after each page that says more follow. */
async function pageWhileEnqueuing(q: JobQueue, sort: 'newest' | 'oldest'): Promise<{ paged: string[]; before: string[]; added: string[] }> {
  const before = await enqueue(q, 20);
  const added: string[] = [];
  const paged: string[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 50; pages += 1) {
    const page = await q.list({ type: TYPE, sort, limit: PAGE, ...(cursor === undefined ? {} : { cursor }) });
    paged.push(...page.jobs.map((j) => j.id));
    if (page.nextCursor === null) break;
    cursor = page.nextCursor;
    added.push(...(await enqueue(q, 3)));
  }
  return { paged, before, added };
}

function pinsKeysetPaging(started: () => Promise<JobQueue>): void {
  it('pages newest first with jobs enqueued between pages: every job there at the first page once, none new, none repeated', async () => {
    const { paged, before } = await pageWhileEnqueuing(await started(), 'newest');
    expect(new Set(paged).size).toBe(paged.length);
    expect(paged).toEqual([...before].reverse());
  });

  it('pages oldest first with jobs enqueued between pages: every job once, the new ones after the old', async () => {
    const { paged, before, added } = await pageWhileEnqueuing(await started(), 'oldest');
    expect(new Set(paged).size).toBe(paged.length);
    expect(paged).toEqual([...before, ...added]);
  });

  it('refuses a cursor it did not give, naming the field', async () => {
    await expect((await started()).list({ cursor: 'o5' })).rejects.toMatchObject({ code: 'PH_INVALID_INPUT', field: 'cursor' });
  });
}

describe('jobs.list keyset cursor on SQLite', () => {
  let t: ReturnType<typeof openTestDb>;
  let q: SqliteJobQueue;
  beforeAll(() => {
    t = openTestDb();
  });
  afterEach(async () => {
    await q.stop();
    t.db.exec('DELETE FROM jobs');
  });
  afterAll(() => t.close());

  pinsKeysetPaging(async () => {
    q = new SqliteJobQueue(t.db, systemClock, silent, null, { pollMs: 20 });
    await q.start();
    return q;
  });
});

describe('jobs.list keyset cursor on BullMQ (with Redis)', () => {
  let redis: TestRedis;
  let client: Redis;
  let t: ReturnType<typeof openTestDb>;
  let q: BullmqJobQueue;
  let prefix = 0;
  beforeAll(async () => {
    redis = await startRedis();
    client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  });
  afterEach(async () => {
    await q.stop();
    t.close();
  });
  afterAll(async () => {
    client.disconnect();
    await redis.stop();
  });

  pinsKeysetPaging(async () => {
    t = openTestDb();
    prefix += 1;
    q = new BullmqJobQueue(client, t.db, systemClock, silent, new EventBus(), testSeal('node-list'), { prefix: `list${prefix}` });
    await q.start();
    return q;
  });
});
