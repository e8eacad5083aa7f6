import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteJobQueue } from '../../main/batch';
import { systemClock } from '../../main/clock';
import { EventBus } from '../../main/events';
import { openTestDb, silent } from './fixtures';

/** The queue itself, not the dispatcher: what a capability enqueues meets the contract's JobSpecSchema too. */
describe('job specs, checked by the contract schema at the queue', () => {
  let t: ReturnType<typeof openTestDb>;
  let q: SqliteJobQueue;

  beforeEach(() => {
    t = openTestDb();
    q = new SqliteJobQueue(t.db, systemClock, silent, new EventBus(), { pollMs: 20 });
  });
  afterEach(async () => {
    await q.stop();
    t.close();
  });

  it('refuses the limits the schema states, naming the field, and adds no job', async () => {
    for (const [spec, field] of [
      [{ type: 'x', timeoutMs: 24 * 3600_000 + 1 }, 'timeoutMs'],
      [{ type: 'x', delayMs: 1.5 }, 'delayMs'],
      [{ type: 'x', backoffMs: 3600_001 }, 'backoffMs'],
      [{ type: 'bad type' }, 'type'],
      [{ type: 'x', children: [{ type: 'c', priority: 101 }] }, 'children.0.priority'],
      [{ type: 'x', children: [{ type: 'c', children: [{ type: 'g', attempts: 0 }] }] }, 'children.0.children.0.attempts'],
    ] as const) {
      await expect(q.enqueue(spec), field).rejects.toMatchObject({ code: 'PH_INVALID_INPUT', field });
    }
    expect((await q.list({ limit: 10 })).jobs).toEqual([]);
  });

  it('refuses what a schema cannot state: children on a repeating job, and an oversized payload', async () => {
    await expect(q.enqueue({ type: 'x', repeat: { cron: '* * * * *' }, children: [{ type: 'c' }] })).rejects.toMatchObject({
      code: 'PH_INVALID_INPUT',
      field: 'repeat',
    });
    await expect(q.enqueue({ type: 'x', payload: 'p'.repeat(300 * 1024) })).rejects.toMatchObject({ code: 'PH_PAYLOAD_TOO_LARGE' });
  });

  it('accepts a spec at every limit', async () => {
    const job = await q.enqueue({ type: 'x', priority: 100, attempts: 100, timeoutMs: 24 * 3600_000, delayMs: 60_000 });
    expect(job).toMatchObject({ type: 'x', priority: 100, maxAttempts: 100, timeoutMs: 24 * 3600_000, state: 'delayed' });
  });
});
