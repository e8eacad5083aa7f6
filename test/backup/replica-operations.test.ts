import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';
import { tempDir } from '../helpers/temp-dir';
import { digestRows, makeDatabase } from './backup-fixture';

describe('backup keys and replicas through the API', () => {
  const data = tempDir('ph-replica-api-');
  const planes: TestPlane[] = [];
  afterAll(async () => {
    for (const p of planes) await p.stop().catch(() => undefined);
    data.remove();
  });

  it('exports the key to admins only (audited), refuses replica destinations outside the allow-lists, and rebuilds a lost repository from a replica', async () => {
    const t = await startTestPlane({ dataDir: data.path });
    planes.push(t);
    const viewer = (await t.op('keys.create', { name: 'viewer', role: 'viewer' })).body.secret as string;

    expect(await t.op('backup.key.export', {}, viewer)).toMatchObject({ status: 403, body: { error: { code: 'PH_FORBIDDEN' } } });
    const exported = await t.op('backup.key.export', {});
    expect(exported.status).toBe(200);
    expect(Buffer.from(exported.body.masterKey as string, 'base64')).toHaveLength(32);
    expect((await t.op('backup.key.status', {}, viewer)).body).toMatchObject({
      encrypted: true,
      format: 'encrypted',
      keyId: exported.body.keyId,
    });

    // Abuse: metadata address, this node's own API, a folder outside the roots, the repository itself.
    const s3 = { name: 'meta', kind: 's3', bucket: 'backups', accessKeyId: 'a', secretAccessKey: 'b' };
    for (const endpoint of ['http://169.254.169.254/', `http://127.0.0.1:${new URL(t.url).port}`]) {
      expect(await t.op('backup.replicas.add', { ...s3, endpoint })).toMatchObject({
        status: 400,
        body: { error: { code: 'PH_BACKUP_REPLICA_REFUSED' } },
      });
    }
    for (const path of ['/etc', join(data.path, 'backups', 'packs'), 'relative/folder']) {
      expect(await t.op('backup.replicas.add', { name: 'bad', kind: 'folder', path })).toMatchObject({
        status: 400,
        body: { error: { code: 'PH_BACKUP_REPLICA_REFUSED' } },
      });
    }
    const drive = join(data.path, 'usb-drive');
    mkdirSync(drive);
    expect(await t.op('backup.replicas.add', { name: 'usb', kind: 'folder', path: drive }, viewer)).toMatchObject({ status: 403 });
    const added = await t.op('backup.replicas.add', { name: 'usb', kind: 'folder', path: drive });
    expect(added.status).toBe(200);
    const replicaId = added.body.replica.id as string;

    const src = join(data.path, 'orders.db');
    makeDatabase(src, 400).close();
    const source = (await t.op('backup.sources.register', { name: 'orders', path: src })).body.source.id as string;
    const snapshotId = (await t.op('backup.snapshot', { id: source })).body.snapshot.id as string;
    const synced = await t.op('backup.replicas.sync', { id: replicaId });
    expect(synced.body.replica).toMatchObject({ state: 'ok', lagSnapshots: 0, lagBytes: 0, target: drive });
    const verified = await t.op('backup.replicas.verify', { id: replicaId, samplePages: 1000 });
    expect(verified.body.damaged).toEqual([]);
    const listed = await t.op('backup.replicas.list', {}, viewer);
    expect(listed.body.replicas[0]).toMatchObject({ id: replicaId, lastVerifyOk: true });
    expect(JSON.stringify(listed.body)).not.toContain(exported.body.masterKey);
    await t.plane.stop();

    // The repository is lost; the node starts on an empty one and pulls everything back.
    rmSync(join(data.path, 'backups'), { recursive: true, force: true });
    const t2 = await startTestPlane({ dataDir: data.path });
    planes.push(t2);
    const pulled = await t2.op('backup.replicas.restore', { id: replicaId });
    expect(pulled.status).toBe(200);
    expect(pulled.body.snapshots).toBeGreaterThanOrEqual(1);
    const target = join(data.path, 'orders-restored.db');
    const restored = await t2.op('backup.restore', { snapshotId, targetPath: target });
    expect(restored.status).toBe(200);
    expect(digestRows(target)).toBe(digestRows(src));
    const actions = (await t2.op('audit.list', { limit: 100 })).body.entries.map((e: { action: string }) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['backup.key.export', 'backup.replicas.add', 'backup.replicas.restore']));
  }, 120_000);
});
