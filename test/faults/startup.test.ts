import { readFileSync, rmSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { walNeeds } from '../../main/store/wal-guard';
import { tempDir } from '../helpers/temp-dir';
import { launchHeadless, type HeadlessNode } from './headless';

/**
 * A node that started once and stopped cleanly (its schema in the main file), then wrote keys and
 * was killed -9: those writes are only in pilothouse.db-wal, not yet folded into the main file.
 */
async function crashedNodeWithHotWal(dir: string, started: HeadlessNode[]): Promise<{ adminKey: string }> {
  const first = await launchHeadless(dir);
  started.push(first); // so afterEach stops it if the test times out before the kill below
  await first.running();
  expect(await first.kill('SIGTERM')).toBe(0);
  const node = await launchHeadless(dir);
  started.push(node);
  await node.running();
  for (let i = 0; i < 5; i += 1) expect((await node.op('keys.create', { name: `k${i}`, role: 'viewer' })).status).toBe(200);
  await node.kill('SIGKILL');
  expect(statSync(join(dir, 'pilothouse.db-wal')).size).toBeGreaterThan(0);
  return { adminKey: readFileSync(join(dir, 'admin.key'), 'utf8') };
}

describe('start-up beside a WAL whose database file is gone or short', () => {
  const nodes: HeadlessNode[] = [];
  const dirs: { remove: () => void }[] = [];
  afterEach(async () => {
    for (const n of nodes.splice(0)) await n.kill();
    for (const d of dirs.splice(0)) d.remove();
  });

  const scenarios: [string, (db: string) => void][] = [
    ['truncated to 0 bytes', (db) => truncateSync(db, 0)],
    ['deleted', (db) => rmSync(db)],
    [
      'cut short of a page the WAL does not carry',
      (db) => {
        const needs = walNeeds(`${db}-wal`);
        expect(needs).not.toBeNull();
        truncateSync(db, (needs?.mainFileBytes ?? 0) - (needs?.pageSize ?? 0));
      },
    ],
  ];
  for (const [what, damage] of scenarios) {
    it(`refuses with PH_STORE_WAL_WITHOUT_DATABASE naming both files when the database is ${what}, and changes neither the WAL nor admin.key`, async () => {
      const dir = tempDir('ph-fault-start-');
      dirs.push(dir);
      const { adminKey } = await crashedNodeWithHotWal(dir.path, nodes);
      const db = join(dir.path, 'pilothouse.db');
      damage(db);
      const wal = readFileSync(`${db}-wal`);
      const again = await launchHeadless(dir.path);
      nodes.push(again);
      expect(await again.exited).toBe(1);
      expect(again.stderr()).toContain('PH_STORE_WAL_WITHOUT_DATABASE');
      expect(again.stderr()).toContain(db);
      expect(again.stderr()).toContain(`${db}-wal`);
      expect(readFileSync(`${db}-wal`).equals(wal)).toBe(true);
      expect(readFileSync(join(dir.path, 'admin.key'), 'utf8')).toBe(adminKey);
    }, 120_000);
  }

  it('keeps admin.key when the database was deleted with nothing beside it, writing the new key to its own file', async () => {
    const dir = tempDir('ph-fault-start-');
    dirs.push(dir);
    const first = await launchHeadless(dir.path);
    nodes.push(first);
    await first.running();
    const adminKey = first.adminKey();
    expect(await first.kill('SIGTERM')).toBe(0);
    rmSync(join(dir.path, 'pilothouse.db'));
    const again = await launchHeadless(dir.path);
    nodes.push(again);
    await again.running();
    expect(readFileSync(join(dir.path, 'admin.key'), 'utf8').trim()).toBe(adminKey);
    const written = /written to (\S+admin-[^\s]+\.key)/.exec(again.stdout())?.[1];
    expect(written).toBeDefined();
    expect(readFileSync(written as string, 'utf8').trim()).not.toBe(adminKey);
    expect(statSync(written as string).mode & 0o777).toBe(0o600);
  }, 120_000);
});
