import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';
import { heldDatabase } from '../backup/backup-fixture';
import { until } from '../helpers/until';
import { startReceiver, type Receiver } from './receiver';

interface Body {
  type: string;
  data: { kind: string; sourceId: string; snapshotId: string | null; ok: boolean; cancelled: boolean; error: string | null };
}

describe('backup webhooks say what ended', () => {
  let t: TestPlane;
  let rx: Receiver;
  beforeAll(async () => {
    t = await startTestPlane({}, { webhooks: { baseDelayMs: 40, maxDelayMs: 150, retryWindowMs: 60_000, timeoutMs: 1_000 } });
  });
  afterAll(async () => {
    await t?.stop();
  });
  afterEach(async () => {
    await rx?.close();
  });

  const subscribe = async (eventTypes: string[]) => {
    rx = await startReceiver();
    expect((await t.op('webhooks.create', { url: rx.url, eventTypes })).status).toBe(200);
  };
  const bodies = () => rx.received.filter((r) => r.status === 204).map((r) => JSON.parse(r.body) as Body);

  it('backup.done for a snapshot names the snapshot it made', async () => {
    await subscribe(['backup.done']);
    const made = await t.op('backup.snapshot', { id: 'app' });
    expect(made.status).toBe(200);
    await until(async () => bodies().length > 0, 5_000, 'the backup.done delivery');
    expect(bodies()[0]).toMatchObject({
      type: 'backup.done',
      data: { kind: 'snapshot', sourceId: 'app', snapshotId: made.body.snapshot.id, ok: true, cancelled: false },
    });
  });

  it('an operator cancelling a snapshot sends backup.cancelled, naming the source, and no backup.failed', async () => {
    await subscribe(['backup.failed', 'backup.cancelled']);
    const path = join(t.dataDir, 'held.db');
    const writer = heldDatabase(path);
    const sourceId = (await t.op('backup.sources.register', { name: 'held', path })).body.source.id as string;
    writer.exec('BEGIN EXCLUSIVE');
    let snapshot: Promise<{ status: number; body: { error: { code: string; message: string } } }>;
    try {
      snapshot = t.op('backup.snapshot', { id: sourceId });
      await until(
        async () => (await t.op('backup.sources.list')).body.running.some((p: { sourceId: string }) => p.sourceId === sourceId),
        5_000,
        'the snapshot running',
      );
      expect((await t.op('backup.snapshot.cancel', { sourceId })).status).toBe(200);
    } finally {
      writer.exec('COMMIT');
      writer.close();
    }
    const answer = await snapshot;
    expect(answer.body.error.code).toBe('PH_BACKUP_CANCELLED');
    expect(answer.body.error.message).toMatch(/^The snapshot of held was cancelled by key:/);
    await until(async () => bodies().length > 0, 5_000, 'the backup.cancelled delivery');
    expect(bodies().map((b) => b.type)).toEqual(['backup.cancelled']);
    expect(bodies()[0]!.data).toMatchObject({ kind: 'snapshot', sourceId, snapshotId: null, ok: false, cancelled: true });
  });
});
