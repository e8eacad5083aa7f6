import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventMessage } from '../../contract/events';
import { desktopCaller } from '../../main/security';
import { makeDatabase } from '../backup/backup-fixture';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';
import { until } from '../helpers/until';

describe('cancelling the built-in backup jobs', () => {
  let t: TestPlane;
  let sourceId: string;
  beforeAll(async () => {
    t = await startTestPlane();
    const path = join(t.dataDir, 'big.db');
    makeDatabase(path, 60_000).close(); // about 3,000 pages: three store chunks
    sourceId = (await t.op('backup.sources.register', { name: 'big', path })).body.source.id;
  });
  afterAll(async () => t.stop());

  const call = (name: string, input: unknown) => t.plane.running.dispatcher.call(name, input, desktopCaller) as Promise<any>;

  /** Enqueues `type` and cancels it through jobs.cancel at the first progress event of `phase`. */
  async function cancelAt(type: string, payload: unknown, kind: string, phase: string): Promise<string> {
    let jobId: Promise<string> | null = null;
    let cancelled: Promise<unknown> | null = null;
    const off = t.plane.running.bus.subscribe((message: EventMessage) => {
      if (message.event !== 'backup.progress' || cancelled !== null) return;
      const p = message.payload as { kind: string; phase: string };
      if (p.kind === kind && p.phase === phase && jobId !== null) cancelled = jobId.then((id) => call('jobs.cancel', { id }));
    });
    jobId = call('jobs.enqueue', { type, payload }).then((r) => r.job.id as string);
    const id = await jobId;
    await until(async () => (await call('jobs.get', { id })).job.state === 'cancelled', 20_000, `${type} to be cancelled`);
    off();
    expect(cancelled).not.toBeNull();
    // The job is marked cancelled at once; wait for the backup work itself to end before judging it.
    await until(() => t.plane.running.backup.running().length === 0, 20_000, 'the backup work to end');
    return id;
  }

  it('backup.snapshot cancelled while storing pages leaves no snapshot, and the next one is whole', async () => {
    await cancelAt('backup.snapshot', { sourceId }, 'snapshot', 'store');
    expect(await call('backup.snapshots.list', { sourceId })).toMatchObject({ snapshots: [] });
    const next = await call('backup.snapshot', { id: sourceId });
    expect((await call('backup.verify', { id: next.snapshot.id })).verification.ok).toBe(true);
  });

  it('backup.verify cancelled while rebuilding pages records no verification', async () => {
    const { snapshots } = await call('backup.snapshots.list', { sourceId });
    const snapshotId = snapshots[0].id as string;
    const before = (await call('backup.verifications.list', { snapshotId })).verifications.length;
    await cancelAt('backup.verify', { snapshotId }, 'verify', 'pages');
    expect((await call('backup.verifications.list', { snapshotId })).verifications).toHaveLength(before);
  });
});
