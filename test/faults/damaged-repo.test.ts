import { readdirSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultConfig } from '../../main/config';
import { ControlPlane } from '../../main/control-plane';
import { createLogger } from '../../main/logger';
import { makeDatabase } from '../backup/backup-fixture';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';

describe('a damaged backup repository', () => {
  let t: TestPlane;
  let sourceId: string;
  beforeAll(async () => {
    t = await startTestPlane();
    const path = join(t.dataDir, 'd.db');
    makeDatabase(path, 3000).close();
    sourceId = (await t.op('backup.sources.register', { name: 'd', path })).body.source.id;
  });
  afterAll(async () => t.stop());

  it('a truncated pack: verify records the real bad pages, and restore answers 422 with a code', async () => {
    const snap = (await t.op('backup.snapshot', { id: sourceId })).body.snapshot;
    const packs = join(t.dataDir, 'backups', 'packs');
    for (const f of readdirSync(packs)) truncateSync(join(packs, f), Math.floor(statSync(join(packs, f)).size / 2));
    const v = (await t.op('backup.verify', { id: snap.id })).body.verification;
    expect(v.ok).toBe(false);
    expect(v.pagesChecked).toBe(snap.pageCount);
    expect(v.badPages.length).toBeGreaterThan(0);
    expect(v.badPages.every((p: number) => p >= 1 && p <= snap.pageCount)).toBe(true);
    const r = await t.op('backup.restore', { snapshotId: snap.id, targetPath: join(t.dataDir, 'out.db') });
    expect(r).toMatchObject({ status: 422, body: { error: { code: 'PH_BACKUP_VERIFY_FAILED' } } });
  });

  it('a damaged manifest: restore answers 422 PH_BACKUP_DAMAGED naming the snapshot, which stays listed as damaged after a restart, and /readyz says so', async () => {
    const snap = (await t.op('backup.snapshot', { id: sourceId })).body.snapshot;
    writeFileSync(join(t.dataDir, 'backups', 'snapshots', `${snap.id}.snap`), 'garbage');
    const r = await t.op('backup.restore', { snapshotId: snap.id, targetPath: join(t.dataDir, 'out2.db') });
    expect(r).toMatchObject({ status: 422, body: { error: { code: 'PH_BACKUP_DAMAGED', details: { snapshotId: snap.id } } } });

    await t.plane.stop();
    const config = { ...defaultConfig(t.dataDir), port: 0, logLevel: 'silent' as const };
    const again = new ControlPlane({ config, sources: ['test'] }, { mode: 'headless', logger: createLogger('silent') });
    await again.start();
    try {
      const listed = again.running.backup.listSnapshots(sourceId).find((s) => s.id === snap.id);
      expect(listed?.lastVerification).toMatchObject({ ok: false });
      const ready = (await (await fetch(`${again.url}/readyz`, { headers: { authorization: `Bearer ${t.adminKey}` } })).json()) as {
        services: { name: string; state: string; detail?: string }[];
      };
      const backup = ready.services.find((s) => s.name === 'backup');
      expect(backup?.state).toBe('degraded');
      expect(backup?.detail).toContain(snap.id);
    } finally {
      await again.stop();
    }
  });
});
