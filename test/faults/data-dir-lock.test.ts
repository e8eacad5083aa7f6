import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { DataDirLock } from '../../main/store';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp-dir';
import { launchHeadless, type HeadlessNode } from './headless';

/** One process per data directory: a second start must not run its clean-up under a live node. */
describe('a second start on a data directory a node is running on', () => {
  const dir = tempDir('ph-fault-lock-');
  const nodes: HeadlessNode[] = [];
  afterAll(async () => {
    for (const node of nodes) if (node.child.exitCode === null) await node.kill('SIGKILL');
    dir.remove();
  });

  it('is refused with PH_DATA_DIR_IN_USE before it touches the live node’s files, and a start after a kill -9 takes the directory at once', async () => {
    const data = join(dir.path, 'data');
    const first = await launchHeadless(data);
    nodes.push(first);
    await first.running();
    // What a snapshot or restore under way keeps in the repository's temp folder, which a start clears.
    const tmp = join(data, 'backups', 'tmp');
    expect(existsSync(tmp)).toBe(true);
    writeFileSync(join(tmp, 'capture-in-flight'), 'pages being written');

    const second = await launchHeadless(data);
    nodes.push(second);
    const outcome = await Promise.race([second.exited, second.running().then(() => 'running')]);
    expect(outcome).toBe(1);
    expect(second.stderr()).toMatch(
      /^PH_DATA_DIR_IN_USE: Another Pilothouse process is running on .*\/data \(it holds .*pilothouse\.lock: never delete/m,
    );
    expect(readdirSync(tmp)).toContain('capture-in-flight');
    expect((await first.op('system.status')).status).toBe(200);

    await first.kill('SIGKILL');
    const third = await launchHeadless(data);
    nodes.push(third);
    await third.running();
    expect((await third.op('system.status')).status).toBe(200);
    // This start was the directory's owner, so it cleared what the killed node left.
    expect(readdirSync(tmp)).not.toContain('capture-in-flight');
  }, 120_000);

  it("keeps the node's locks on its database: another program opening and closing it leaves the WAL, and writes survive a kill -9", async () => {
    const data = join(dir.path, 'wal');
    const node = await launchHeadless(data);
    nodes.push(node);
    await node.running();
    const wal = join(data, 'pilothouse.db-wal');
    expect(existsSync(wal)).toBe(true);
    // What an operator's sqlite3 shell does: open, read, close. The last connection to close removes the WAL.
    const shell = new Database(join(data, 'pilothouse.db'));
    shell.prepare('SELECT count(*) FROM sqlite_schema').get();
    shell.close();
    expect(existsSync(wal)).toBe(true);
    const created = await node.op('keys.create', { name: 'written-after', role: 'viewer' });
    expect(created.status).toBe(200);
    await node.kill('SIGKILL');
    const again = await launchHeadless(data);
    nodes.push(again);
    await again.running();
    const keys = (await again.op('keys.list')).body.keys as { name: string }[];
    expect(keys.map((k) => k.name)).toContain('written-after');
  }, 120_000);

  it('keeps the lock file its own: 0600, never through a link, and stray bytes in it are not a lock', () => {
    const data = join(dir.path, 'kinds');
    mkdirSync(data);
    const path = join(data, 'pilothouse.lock');
    const lock = new DataDirLock(data);
    lock.acquire();
    expect(statSync(path).mode & 0o777).toBe(0o600);
    lock.release();

    // Garbage where the lock was: no process holds it, so a start takes the directory.
    writeFileSync(path, 'not a database');
    lock.acquire();
    lock.release();

    // A link to another program's database: refused, and that database is never locked or changed.
    rmSync(path);
    const other = join(dir.path, 'other.db');
    writeFileSync(other, 'their data');
    symlinkSync(other, path);
    expect(() => lock.acquire()).toThrow(expect.objectContaining({ code: 'PH_PERMISSION_DENIED' }));
    expect(readFileSync(other, 'utf8')).toBe('their data');
  });
});
