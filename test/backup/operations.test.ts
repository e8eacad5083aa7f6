import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';
import { until } from '../helpers/until';
import { digestRows, makeDatabase } from './backup-fixture';

describe('backup operations and routes on a running control plane', () => {
  let t: TestPlane;
  let viewerKey: string;
  beforeAll(async () => {
    t = await startTestPlane();
    const created = await t.op('keys.create', { name: 'viewer', role: 'viewer' });
    viewerKey = created.body.secret;
  });
  afterAll(async () => t.stop());

  it('registers a source, snapshots it, verifies and restores it through the operations, with events on /ws', async () => {
    const path = join(t.dataDir, 'app-data.db');
    makeDatabase(path, 300).close();
    const reg = await t.op('backup.sources.register', { name: 'app-data', path, retention: { keepLast: 5 } });
    expect(reg.status).toBe(200);
    const id = reg.body.source.id as string;

    const ws = new WebSocket(`${t.url.replace('http', 'ws')}/ws`, { headers: { authorization: `Bearer ${viewerKey}` } });
    const frames: { type?: string; id?: string; event?: string; payload?: { phase?: string; ok?: boolean } }[] = [];
    ws.on('message', (d) => frames.push(JSON.parse(d.toString())));
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ type: 'events', id: 'follow', events: ['backup.progress', 'backup.finished'] }));
    await until(() => frames.some((f) => f.type === 'reply' && f.id === 'follow'));

    const snap = await t.op('backup.snapshot', { id });
    expect(snap.status).toBe(200);
    expect(snap.body.snapshot).toMatchObject({ sourceId: id, trigger: 'manual' });
    const snapshotId = snap.body.snapshot.id as string;

    const verify = await t.op('backup.verify', { id: snapshotId });
    expect(verify.body.verification).toMatchObject({ ok: true, integrity: ['ok'] });

    const target = join(t.dataDir, 'restored.db');
    const plan = await t.op('backup.restore.plan', { snapshotId, targetPath: target }, viewerKey);
    expect(plan.body).toMatchObject({ target, inPlace: false, safetySnapshot: false });
    const restore = await t.op('backup.restore', { snapshotId, targetPath: target });
    expect(restore.status).toBe(200);
    expect(digestRows(target)).toBe(digestRows(path));

    const listed = await t.op('backup.sources.list', {}, viewerKey);
    expect(listed.body.sources.find((s: { id: string }) => s.id === id)).toMatchObject({ snapshots: 1 });
    expect(listed.body.repository.snapshots).toBeGreaterThanOrEqual(1);

    await new Promise((r) => setTimeout(r, 100));
    ws.close();
    expect(frames.some((f) => f.event === 'backup.progress' && f.payload?.phase === 'store')).toBe(true);
    expect(frames.some((f) => f.event === 'backup.finished' && f.payload?.ok === true)).toBe(true);

    const audit = await t.op('audit.list', { limit: 50 });
    const actions = audit.body.entries.map((e: { action: string }) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['backup.sources.register', 'backup.snapshot', 'backup.verify', 'backup.restore']));
  });

  it('lets only admins restore or register, and reports validation errors with their codes', async () => {
    const denied = await t.op('backup.restore', { snapshotId: 'x', targetPath: '/tmp/x.db' }, viewerKey);
    expect(denied).toMatchObject({ status: 403, body: { error: { code: 'PH_FORBIDDEN' } } });
    const relative = await t.op('backup.sources.register', { name: 'rel', path: 'rel.db' });
    expect(relative).toMatchObject({ status: 403, body: { error: { code: 'PH_BACKUP_PATH_REFUSED', field: 'path' } } });
    const missing = await t.op('backup.verify', { id: 'snap-nope' });
    expect(missing).toMatchObject({ status: 404, body: { error: { code: 'PH_BACKUP_NOT_FOUND' } } });
  });

  it("keeps Pilothouse's own files in its data directory out of reach: not a source, not a restore target", async () => {
    const path = join(t.dataDir, 'own-check.db');
    makeDatabase(path, 10).close();
    const sourceId = (await t.op('backup.sources.register', { name: 'own-check', path })).body.source.id as string;
    const snapshotId = (await t.op('backup.snapshot', { id: sourceId })).body.snapshot.id as string;
    // A restore over the picked-roots list stopped the next start; one into backups/ wrote inside the repository.
    for (const targetPath of [
      join(t.dataDir, 'backup-roots.json'),
      join(t.dataDir, 'secrets', 'x.db'),
      join(t.dataDir, 'backups', 'x.db'),
    ]) {
      const refused = await t.op('backup.restore', { snapshotId, targetPath });
      expect(refused, targetPath).toMatchObject({ status: 403, body: { error: { code: 'PH_BACKUP_PATH_REFUSED', field: 'targetPath' } } });
      expect(existsSync(targetPath), targetPath).toBe(false);
    }
    for (const own of [join(t.dataDir, 'backups', 'index.db'), join(t.dataDir, 'admin.key')]) {
      const refused = await t.op('backup.sources.register', { name: `own-${own.length}`, path: own });
      expect(refused, own).toMatchObject({ status: 403, body: { error: { code: 'PH_BACKUP_PATH_REFUSED', field: 'path' } } });
    }
    // A file of its own beside them is still fine.
    expect((await t.op('backup.restore', { snapshotId, targetPath: join(t.dataDir, 'own-check-copy.db') })).status).toBe(200);
  });

  it('serves /api/v1/backups routes and downloads a snapshot as a plain .sqlite file', async () => {
    const headers = { authorization: `Bearer ${t.adminKey}` };
    const snap = await fetch(`${t.url}/api/v1/backups/sources/app/snapshots`, { method: 'POST', headers });
    expect(snap.status).toBe(200);
    const { snapshot } = (await snap.json()) as { snapshot: { id: string; imageHash: string } };
    const list = await fetch(`${t.url}/api/v1/backups/snapshots?sourceId=app`, { headers });
    expect(((await list.json()) as { snapshots: { id: string }[] }).snapshots[0]?.id).toBe(snapshot.id);
    const file = await fetch(`${t.url}/api/v1/backups/snapshots/${snapshot.id}/download`, { headers });
    expect(file.status).toBe(200);
    expect(file.headers.get('content-disposition')).toMatch(/attachment; filename=".*\.sqlite"/);
    const bytes = Buffer.from(await file.arrayBuffer());
    expect(bytes.subarray(0, 16).toString('latin1')).toBe('SQLite format 3\0');
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(snapshot.imageHash);
    const asViewer = await fetch(`${t.url}/api/v1/backups/prune`, { method: 'POST', headers: { authorization: `Bearer ${viewerKey}` } });
    expect(asViewer.status).toBe(403);
  });
});
