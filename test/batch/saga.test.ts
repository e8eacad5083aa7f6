import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compensationsOf, runSaga, SqliteJobQueue } from '../../main/batch';
import { systemClock } from '../../main/clock';
import { openTestDb, silent, waitFor } from './fixtures';

describe('sagas', () => {
  let t: ReturnType<typeof openTestDb>;
  let q: SqliteJobQueue;
  let trail: string[];

  beforeEach(async () => {
    t = openTestDb();
    trail = [];
    q = new SqliteJobQueue(t.db, systemClock, silent, null, { pollMs: 20 });
    q.register('provision', (payload, ctx) =>
      runSaga(ctx, t.db, systemClock, [
        {
          name: 'reserve-ip',
          run: () => (trail.push('reserve-ip'), '10.0.0.7'),
          compensate: (_c, ip) => void trail.push(`release ${ip as string}`),
        },
        {
          name: 'create-vm',
          run: () => (trail.push('create-vm'), 'vm-1'),
          compensate: (_c, vm) => void trail.push(`destroy ${vm as string}`),
        },
        {
          name: 'register-dns',
          run: () => {
            trail.push('register-dns');
            if ((payload as { failDns: boolean }).failDns) throw new Error('dns refused');
          },
        },
      ]),
    );
    await q.start();
  });
  afterEach(async () => {
    await q.stop();
    t.close();
  });

  it('compensates the completed steps in reverse order and records each compensation', async () => {
    const job = await q.enqueue({ type: 'provision', payload: { failDns: true }, attempts: 1 });
    await waitFor(async () => (await q.get(job.id)).state === 'dead');
    expect(trail).toEqual(['reserve-ip', 'create-vm', 'register-dns', 'destroy vm-1', 'release 10.0.0.7']);
    expect(compensationsOf(t.db, job.id)).toEqual([
      { step: 'create-vm', status: 'done', error: null },
      { step: 'reserve-ip', status: 'done', error: null },
    ]);
    expect((await q.get(job.id)).lastError).toBe('dns refused');
  });

  it('skips the steps an attempt killed mid-saga had finished when the job runs again', async () => {
    // What a worker killed after two steps leaves behind: their durable records.
    const put = t.db.prepare('INSERT INTO job_effects (effect_key, result, at) VALUES (?, ?, 0)');
    put.run('saga:vm-7:reserve-ip', JSON.stringify('10.0.0.7'));
    put.run('saga:vm-7:create-vm', JSON.stringify('vm-1'));
    const job = await q.enqueue({ type: 'provision', payload: { failDns: false }, idempotencyKey: 'vm-7' });
    await waitFor(async () => (await q.get(job.id)).state === 'completed');
    expect(trail).toEqual(['register-dns']);
    expect((await q.get(job.id)).result).toEqual({ completed: ['reserve-ip', 'create-vm', 'register-dns'], compensated: [] });
  });
});
