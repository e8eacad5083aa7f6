import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteJobQueue } from '../../main/batch';
import { openTestDb, silent } from './fixtures';

describe('SQLite job list: cursor pages, search, time and sort', () => {
  let t: ReturnType<typeof openTestDb>;
  let now: number;
  let q: SqliteJobQueue;
  const ids: string[] = [];

  beforeEach(async () => {
    t = openTestDb();
    now = Date.parse('2026-12-03T10:00:00Z');
    // Not started: every job stays waiting, so the list is what was enqueued.
    q = new SqliteJobQueue(t.db, { now: () => now }, silent, null, { pollMs: 20 });
    ids.length = 0;
    for (let i = 0; i < 130; i += 1) {
      const type = i % 3 === 0 ? 'mail.send' : 'report.build';
      ids.push((await q.enqueue({ type, payload: { i }, idempotencyKey: `order-${i}` })).id);
      now += 1_000;
    }
  });
  afterEach(async () => {
    await q.stop();
    t.close();
  });

  it('pages every job exactly once, newest first, with the true total on each page', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await q.list({ limit: 50, ...(cursor === undefined ? {} : { cursor }) });
      expect(page.total).toBe(130);
      seen.push(...page.jobs.map((j) => j.id));
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    expect(seen).toEqual([...ids].reverse());
  });

  it('sorts oldest first and pages the same way', async () => {
    const first = await q.list({ limit: 100, sort: 'oldest' });
    const second = await q.list({ limit: 100, sort: 'oldest', cursor: first.nextCursor as string });
    expect([...first.jobs, ...second.jobs].map((j) => j.id)).toEqual(ids);
    expect(second.nextCursor).toBeNull();
  });

  it('finds a job by its id, by its idempotency key, and jobs by a part of their type, with counts to match', async () => {
    const target = ids[77] as string;
    expect((await q.list({ search: target })).jobs.map((j) => j.id)).toEqual([target]);
    expect((await q.list({ search: 'order-77' })).jobs.map((j) => j.id)).toEqual([target]);
    const mail = await q.list({ search: 'mail', limit: 10 });
    expect(mail.total).toBe(44);
    expect(mail.jobs.every((j) => j.type === 'mail.send')).toBe(true);
    const typed = await q.list({ type: 'report.build', limit: 500 });
    expect(typed.total).toBe(86);
    expect(typed.jobs).toHaveLength(86);
  });

  it('keeps jobs created in a time window, bounds inclusive at the start and exclusive at the end', async () => {
    const from = new Date(Date.parse('2026-12-03T10:00:10Z')).toISOString();
    const to = new Date(Date.parse('2026-12-03T10:00:20Z')).toISOString();
    const page = await q.list({ createdAfter: from, createdBefore: to, sort: 'oldest' });
    expect(page.total).toBe(10);
    expect(page.jobs.map((j) => j.id)).toEqual(ids.slice(10, 20));
  });

  it('refuses a cursor it did not give', async () => {
    await expect(q.list({ cursor: 'not-a-cursor' })).rejects.toMatchObject({ code: 'PH_INVALID_INPUT' });
  });
});
