import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventMessage } from '../../contract/events';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';
import { until } from '../helpers/until';
import { heldDatabase, makeDatabase, startFixture, type Fixture } from './backup-fixture';

describe('cancelling a running snapshot', () => {
  let fx: Fixture;
  let sourceId: string;
  beforeAll(async () => {
    fx = await startFixture();
    const path = join(fx.dir, 'big.db');
    // About 20 rows a 4 KiB page: some 10,000 pages, ten chunks of 1,024 to store.
    const db = makeDatabase(path, 200_000);
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    sourceId = fx.service.registerSource({ name: 'big', path }).id;
  });
  afterAll(async () => {
    await fx?.stop();
  });

  it('stops between chunks, leaves no snapshot and no temp image, says cancelled in history, and the next snapshot is whole', async () => {
    const finished: EventMessage[] = [];
    fx.bus.subscribe((m) => {
      if (m.event === 'backup.finished') finished.push(m);
    });
    let cancelledAt: { done: number; total: number } | null = null;
    const run = fx.service.snapshot(sourceId, 'manual', (phase, done, total) => {
      // The first chunk is stored: cancel with nine to go.
      if (phase === 'store' && cancelledAt === null) {
        cancelledAt = { done, total };
        fx.service.cancelSnapshot(sourceId, 'key:op1');
      }
    });
    await expect(run).rejects.toMatchObject({ code: 'PH_BACKUP_CANCELLED' });
    expect(cancelledAt).not.toBeNull();
    const { done, total } = cancelledAt as unknown as { done: number; total: number };
    expect(done).toBe(1024);
    expect(total).toBeGreaterThan(5 * 1024);

    expect(fx.service.listSnapshots(sourceId)).toEqual([]);
    expect(fx.service.repo.listManifests()).toEqual([]);
    expect(readdirSync(fx.service.repo.tmpDir)).toEqual([]);
    expect(fx.service.running()).toEqual([]);
    expect(fx.service.history().cancelled).toEqual([
      expect.objectContaining({ sourceId, by: 'key:op1', phase: 'store', done: 1024, total }),
    ]);
    expect(finished.at(-1)?.payload).toMatchObject({
      kind: 'snapshot',
      ok: false,
      cancelled: true,
      error: expect.stringContaining('The snapshot of big was cancelled by key:op1'),
    });
    // A cancel is not the source failing: its last error stays clear.
    expect(fx.service.getSource(sourceId).lastError).toBeNull();

    const whole = await fx.service.snapshot(sourceId);
    expect(whole.pageCount).toBe(total);
    expect((await fx.service.verify(whole.id)).ok).toBe(true);
  });

  it('answers PH_BACKUP_NOT_RUNNING when no snapshot of the source is under way', () => {
    expect(() => fx.service.cancelSnapshot(sourceId, 'key:op1')).toThrow(expect.objectContaining({ code: 'PH_BACKUP_NOT_RUNNING' }));
  });
});

describe('backup.snapshot.cancel over HTTP', () => {
  let t: TestPlane;
  beforeAll(async () => {
    t = await startTestPlane();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('is an operator lever: a viewer is refused, an idle source answers 409 PH_BACKUP_NOT_RUNNING', async () => {
    const viewer = t.plane.running.keys.create({ name: 'watcher', role: 'viewer', scopes: ['*'] }, 'system');
    const refused = await t.op('backup.snapshot.cancel', { sourceId: 'app' }, viewer.secret);
    expect(refused.status).toBe(403);
    const idle = await t.op('backup.snapshot.cancel', { sourceId: 'app' });
    expect(idle.status).toBe(409);
    expect(idle.body.error.code).toBe('PH_BACKUP_NOT_RUNNING');
  });

  it('cancels a snapshot running as a job, which then ends dead after one attempt instead of being retried', async () => {
    const path = join(t.dataDir, 'held.db');
    const writer = heldDatabase(path);
    const sourceId = (await t.op('backup.sources.register', { name: 'held', path })).body.source.id as string;
    writer.exec('BEGIN EXCLUSIVE');
    let jobId: string;
    try {
      jobId = (await t.op('jobs.enqueue', { type: 'backup.snapshot', payload: { sourceId }, attempts: 3 })).body.job.id;
      await until(
        async () => (await t.op('backup.sources.list')).body.running.some((p: { sourceId: string }) => p.sourceId === sourceId),
        5_000,
        'the snapshot job running',
      );
      expect((await t.op('backup.snapshot.cancel', { sourceId })).status).toBe(200);
    } finally {
      writer.exec('COMMIT');
      writer.close();
    }
    await until(async () => (await t.op('jobs.get', { id: jobId })).body.job.state === 'dead', 10_000, 'the job dead');
    const { job } = (await t.op('jobs.get', { id: jobId })).body;
    expect(job.attemptsMade).toBe(1);
    expect(job.lastError).toContain('cancelled by key:');
    expect((await t.op('backup.snapshots.list', { sourceId })).body.total).toBe(0);
  });
});
