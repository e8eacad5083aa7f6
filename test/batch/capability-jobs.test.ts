import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flipBitInStoredPage } from '../backup/backup-fixture';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';
import { waitFor } from './fixtures';

/** The job types the cache and the backup manager lend the job engine, run through the real plane. */
describe('cache.warm, backup.snapshot and backup.verify jobs', () => {
  let p: TestPlane;
  let loads = 0;

  const job = async (id: string) => (await p.op('jobs.get', { id })).body.job;
  const finished = async (id: string) => {
    await waitFor(async () => ['completed', 'dead', 'cancelled'].includes((await job(id)).state), 20_000, `job ${id} to end`);
    return job(id);
  };
  const enqueue = async (type: string, payload: unknown) => {
    const res = await p.op('jobs.enqueue', { type, payload, attempts: 1 });
    expect(res.status).toBe(200);
    return res.body.job.id as string;
  };

  beforeAll(async () => {
    p = await startTestPlane();
    p.plane.running.cache.registerWarmup('catalog', {
      keys: async () => Array.from({ length: 40 }, (_, i) => `sku-${i}`),
      loader: async (ctx) => {
        loads += 1;
        return { sku: ctx.key };
      },
      atStart: false,
    });
  });
  afterAll(() => p.stop());

  it('warms a namespace as a job, with progress to 1 and the counts in its result, and a second run loads nothing', async () => {
    const first = await finished(await enqueue('cache.warm', { namespace: 'catalog' }));
    expect(first.state).toBe('completed');
    expect(first.progress).toBe(1);
    expect(first.result.results[0]).toMatchObject({ namespace: 'catalog', total: 40, loaded: 40, failed: 0, finished: true });
    expect(loads).toBe(40);
    const second = await finished(await enqueue('cache.warm', { namespace: 'catalog' }));
    expect(second.result.results[0]).toMatchObject({ fromCache: 40, loaded: 0 });
    expect(loads).toBe(40);
  });

  it('refuses a warm job for a namespace without a warm-up list at enqueue, and fails one with a bad payload enqueued in code, with coded errors', async () => {
    const unknown = await p.op('jobs.enqueue', { type: 'cache.warm', payload: { namespace: 'nothing-here' } });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toMatchObject({ code: 'PH_NOT_FOUND', field: 'payload.namespace' });
    // Enqueued in code, past the API's check: the handler refuses it, and once is enough.
    const queued = await p.plane.running.batch.queue.enqueue({ type: 'cache.warm', payload: { namespace: 42 }, attempts: 3 });
    const bad = await finished(queued.id);
    expect(bad.state).toBe('dead');
    expect(bad.lastError).toContain('PH_INVALID_INPUT');
    expect(bad.attemptsMade).toBe(1);
  });

  it('refuses a job whose payload its type cannot use at enqueue, naming the field, and adds no job', async () => {
    const before = (await p.op('jobs.list', { type: 'backup.verify' })).body.total as number;
    const refused = await p.op('jobs.enqueue', { type: 'backup.verify', payload: {} });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ code: 'PH_INVALID_INPUT', field: 'payload.snapshotId' });
    const child = await p.op('jobs.enqueue', { type: 'cache.warm', children: [{ type: 'cache.warm', payload: { namespace: 42 } }] });
    expect(child.status).toBe(400);
    expect(child.body.error).toMatchObject({ code: 'PH_INVALID_INPUT', field: 'children.0.payload.namespace' });
    expect((await p.op('jobs.list', { type: 'backup.verify' })).body.total).toBe(before);
  });

  it('without Redis, refuses at enqueue a job placed on another node or on a target this node does not hold, and adds no job', async () => {
    const total = async (): Promise<number> => (await p.op('jobs.list', {})).body.total as number;
    const before = await total();
    const elsewhere = await p.op('jobs.enqueue', { type: 'maintenance.run', payload: { node: 'node-elsewhere' } });
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.body.error.code).toBe('PH_INVALID_INPUT');
    expect(elsewhere.body.error.message).toContain('"node-elsewhere"');
    const noSource = await p.op('jobs.enqueue', { type: 'backup.snapshot', payload: { sourceId: 'src-nowhere' } });
    expect(noSource.status).toBe(404);
    expect(noSource.body.error.code).toBe('PH_BACKUP_SOURCE_NOT_FOUND');
    const noSnapshot = await p.op('jobs.enqueue', { type: 'backup.verify', payload: { snapshotId: 'snap-nowhere' } });
    expect(noSnapshot.status).toBe(404);
    expect(noSnapshot.body.error.code).toBe('PH_BACKUP_NOT_FOUND');
    expect(await total()).toBe(before);
    const here = await p.op('jobs.enqueue', { type: 'maintenance.run', payload: { node: p.plane.nodeId } });
    expect(here.status).toBe(200);
  });

  it('snapshots the app database as a job and verifies the snapshot as another', async () => {
    const snap = await finished(await enqueue('backup.snapshot', { sourceId: 'app' }));
    expect(snap.state).toBe('completed');
    expect(snap.progress).toBe(1);
    const snapshotId = snap.result.snapshotId as string;
    const listed = (await p.op('backup.snapshots.list', { sourceId: 'app' })).body.snapshots as { id: string }[];
    expect(listed.map((s) => s.id)).toContain(snapshotId);
    const verified = await finished(await enqueue('backup.verify', { snapshotId }));
    expect(verified.state).toBe('completed');
    expect(verified.result).toMatchObject({ snapshotId, ok: true });
    expect(verified.result.pagesChecked).toBeGreaterThan(0);
  });

  it('fails a verify job whose snapshot has a flipped bit, naming what failed', async () => {
    const snapshotId = (await finished(await enqueue('backup.snapshot', { sourceId: 'app' }))).result.snapshotId as string;
    expect(flipBitInStoredPage(p.plane.running.backup.repo, snapshotId, 1)).toBe(true);
    const verified = await finished(await enqueue('backup.verify', { snapshotId }));
    expect(verified.state).toBe('dead');
    expect(verified.lastError).toContain('PH_BACKUP_VERIFY_FAILED');
  });
});
