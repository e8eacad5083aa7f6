import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchHeadless, type HeadlessNode } from '../faults/headless';
import { tempDir } from '../helpers/temp-dir';
import { makeDatabase } from './backup-fixture';

const root = resolve(import.meta.dirname, '../..');

describe('the backup page worker in the electron-vite build', () => {
  const dir = tempDir('ph-built-worker-');
  const out = join(dir.path, 'out');
  let node: HeadlessNode;
  beforeAll(async () => {
    execFileSync(process.execPath, [join(root, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js'), 'build', '--outDir', out], {
      cwd: root,
      stdio: 'ignore',
      env: { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: '1' },
    });
    node = await launchHeadless(join(dir.path, 'data'), [], {}, null, join(out, 'main', 'headless.js'));
    await node.running();
  }, 120_000);
  afterAll(async () => {
    await node?.kill('SIGTERM');
    dir.remove();
  });

  it('is an entry of its own, with no source string evaluated as code', () => {
    const worker = join(out, 'main', 'page-worker.js');
    expect(existsSync(worker)).toBe(true);
    expect(readFileSync(worker, 'utf8')).toContain('integrity_check');
  });

  it('snapshots and verifies a database from the built headless node, page work on its threads', async () => {
    const path = join(dir.path, 'data', 'built.db');
    makeDatabase(path, 500).close();
    const registered = await node.op('backup.sources.register', { name: 'built', path });
    expect(registered.status).toBe(200);
    const snap = await node.op('backup.snapshot', { id: registered.body.source.id });
    expect(snap.status).toBe(200);
    expect(snap.body.snapshot.pageCount).toBeGreaterThan(0);
    const verified = await node.op('backup.verify', { id: snap.body.snapshot.id });
    expect(verified.body.verification).toMatchObject({ ok: true, imageHashOk: true, integrity: ['ok'] });
    expect(verified.body.verification.pagesChecked).toBe(snap.body.snapshot.pageCount);
  });
});
