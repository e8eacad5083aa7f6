import { mkdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDatabase } from '../backup/backup-fixture';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';
import { tempDir } from '../helpers/temp-dir';

/**
 * Attacks on the backup manager's reach, against a running node: an admin key registering a file
 * outside the data directory (a browser's cookie store), a symlink inside the root pointing out,
 * and a viewer probing which paths exist through `backup.restore.plan`.
 */
describe('backup.roots limits what backups read and restores write', () => {
  let t: TestPlane;
  let viewerKey: string;
  const outside = tempDir('ph-outside-');
  const extra = tempDir('ph-extra-root-');
  let snapshotId: string;

  beforeAll(async () => {
    const dataDir = tempDir('ph-reach-');
    t = await startTestPlane({ dataDir: dataDir.path, backup: { roots: [dataDir.path, extra.path] } });
    viewerKey = (await t.op('keys.create', { name: 'viewer', role: 'viewer' })).body.secret;
    const inside = join(t.dataDir, 'inside.db');
    makeDatabase(inside, 50).close();
    const reg = await t.op('backup.sources.register', { name: 'inside', path: inside });
    snapshotId = (await t.op('backup.snapshot', { id: reg.body.source.id })).body.snapshot.id;
  });
  afterAll(async () => {
    await t.stop();
    outside.remove();
    extra.remove();
  });

  it('refuses to register a database outside the roots, even for an admin', async () => {
    const cookies = join(outside.path, 'Cookies');
    makeDatabase(cookies, 5).close();
    const res = await t.op('backup.sources.register', { name: 'cookies', path: cookies });
    expect(res).toMatchObject({ status: 403, body: { error: { code: 'PH_BACKUP_PATH_REFUSED', field: 'path' } } });
    const listed = await t.op('backup.sources.list', {});
    expect(listed.body.sources.map((s: { path: string }) => s.path)).not.toContain(cookies);
  });

  it('refuses a symlink inside a root that points out of it', async () => {
    const secret = join(outside.path, 'secret.db');
    makeDatabase(secret, 5).close();
    const link = join(t.dataDir, 'innocent.db');
    symlinkSync(secret, link);
    const res = await t.op('backup.sources.register', { name: 'innocent', path: link });
    expect(res).toMatchObject({ status: 403, body: { error: { code: 'PH_BACKUP_PATH_REFUSED' } } });
    const folderLink = join(t.dataDir, 'elsewhere');
    symlinkSync(outside.path, folderLink);
    const viaFolder = await t.op('backup.restore', { snapshotId, targetPath: join(folderLink, 'planted.db') });
    expect(viaFolder).toMatchObject({ status: 403, body: { error: { code: 'PH_BACKUP_PATH_REFUSED' } } });
  });

  it('accepts a source under another configured root', async () => {
    const path = join(extra.path, 'tool.db');
    makeDatabase(path, 5).close();
    const res = await t.op('backup.sources.register', { name: 'tool', path });
    expect(res.status).toBe(200);
  });

  it('gives a viewer the same answer for paths that exist, do not exist, or are folders outside the roots', async () => {
    mkdirSync(join(outside.path, 'a-folder'));
    writeFileSync(join(outside.path, 'a-file.db'), 'x');
    const probes = [
      join(outside.path, 'a-file.db'),
      join(outside.path, 'nothing-here.db'),
      join(outside.path, 'a-folder'),
      join(outside.path, 'no-folder', 'x.db'),
      join(t.dataDir, 'inside.db'),
      join(t.dataDir, 'no-folder', 'x.db'),
      'relative.db',
    ];
    const answers = new Set<string>();
    for (const targetPath of probes) {
      const res = await t.op('backup.restore.plan', { snapshotId, targetPath }, viewerKey);
      expect(res.status).toBe(403);
      answers.add(JSON.stringify(res.body));
    }
    expect(answers.size).toBe(1);
    expect([...answers][0]).not.toContain(outside.path);
  });

  it('writes a restored file with mode 0600', async () => {
    const target = join(t.dataDir, 'restored.db');
    const res = await t.op('backup.restore', { snapshotId, targetPath: target });
    expect(res.status).toBe(200);
    expect(statSync(target).mode & 0o777).toBe(0o600);
  });
});
