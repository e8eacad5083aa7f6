import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp-dir';
import { launchHeadless } from './headless';

/** The data directory problems an operator meets, each answered at start with its code and the path. */
describe('start-up on a data directory that is unwritable, uncreatable or damaged', () => {
  const dir = tempDir('ph-fault-datadir-');
  chmodSync(dir.path, 0o755);
  afterAll(() => dir.remove());

  // Root ignores file modes, so these nodes run as `nobody`, as an operator's service account would.
  const asNobody = { uid: 65534, gid: 65534 };

  it('an existing data directory the process may not write: PH_PERMISSION_DENIED naming it, not "not a SQLite database"', async () => {
    const data = join(dir.path, 'locked');
    mkdirSync(data, { mode: 0o755 });
    writeFileSync(join(data, 'pilothouse.db'), '');
    const node = await launchHeadless(data, [], {}, asNobody);
    expect(await node.exited).toBe(1);
    expect(node.stderr()).toContain('PH_PERMISSION_DENIED');
    expect(node.stderr()).toContain(data);
    expect(node.stderr()).not.toContain('not a SQLite database');
  }, 60_000);

  it('a data directory that cannot be created: PH_PERMISSION_DENIED naming it, not a bare EACCES', async () => {
    const parent = join(dir.path, 'closed');
    mkdirSync(parent, { mode: 0o755 });
    const data = join(parent, 'data');
    const node = await launchHeadless(data, [], {}, asNobody);
    expect(await node.exited).toBe(1);
    expect(node.stderr()).toMatch(/^PH_PERMISSION_DENIED: .*closed\/data/m);
  }, 60_000);

  it('a malformed database: PH_FILE_CORRUPT naming the file', async () => {
    const data = join(dir.path, 'malformed');
    mkdirSync(data);
    const first = await launchHeadless(data);
    await first.running();
    expect(await first.kill('SIGTERM')).toBe(0);
    const db = join(data, 'pilothouse.db');
    const bytes = readFileSync(db);
    bytes.fill(0xff, 4096 * 2, 4096 * 6); // pages 3–6: b-tree pages of the schema turned to noise
    writeFileSync(db, bytes);
    const node = await launchHeadless(data);
    expect(await node.exited).toBe(1);
    expect(node.stderr()).toContain('PH_FILE_CORRUPT');
    expect(node.stderr()).toContain(db);
  }, 120_000);
});
