import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp-dir';
import { launchHeadless, type HeadlessNode } from './headless';

const root = resolve(import.meta.dirname, '../..');
const adminKeyReset = (dataDir: string) =>
  spawnSync(process.execPath, ['--import', 'tsx', join(root, 'main/headless.ts'), 'admin-key', '--reset', '--data-dir', dataDir], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, PILOTHOUSE_LOG_LEVEL: 'warn' },
  });

describe('admin recovery: headless.js admin-key --reset', () => {
  const dir = tempDir('ph-fault-admin-');
  const nodes: HeadlessNode[] = [];
  afterAll(async () => {
    for (const n of nodes) await n.kill();
    dir.remove();
  });

  it('refuses while a node runs on the data dir, then issues a working admin key, audited, once it is stopped', async () => {
    const first = await launchHeadless(dir.path);
    nodes.push(first);
    await first.running();
    const lostKey = first.adminKey();
    expect((await first.op('keys.revoke', { id: lostKey.split('_')[1] })).status).toBe(200);
    rmSync(join(dir.path, 'admin.key'));

    const refused = adminKeyReset(dir.path);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('PH_CONFLICT');
    expect(refused.stderr).toContain('stop the node first');
    expect(existsSync(join(dir.path, 'admin.key'))).toBe(false);
    expect(await first.kill('SIGTERM')).toBe(0);

    const reset = adminKeyReset(dir.path);
    expect(reset.status).toBe(0);
    expect(reset.stdout).toContain(join(dir.path, 'admin.key'));
    const newKey = readFileSync(join(dir.path, 'admin.key'), 'utf8').trim();
    expect(newKey).not.toBe(lostKey);

    const again = await launchHeadless(dir.path);
    nodes.push(again);
    await again.running();
    const audit = await again.op('audit.list', {});
    expect(audit.status).toBe(200);
    expect(audit.body.entries).toEqual(
      expect.arrayContaining([expect.objectContaining({ actor: 'admin-key --reset', action: 'keys.create', outcome: 'ok' })]),
    );
    expect(again.stderr()).not.toMatch(/audit.*(broken|tamper|mismatch)/i);
  }, 120_000);
});
