import { chmodSync, chownSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDatabase, rowsOf, startFixture, type Fixture } from './backup-fixture';

describe('an in-place restore keeps the database’s mode and owner', () => {
  let fx: Fixture;
  beforeAll(async () => {
    fx = await startFixture();
  });
  afterAll(async () => fx.stop());

  it('gives the restored file the mode (0640) and, run as root, the owner of the file it replaced', async () => {
    const path = join(fx.dir, 'shared.db');
    const db = makeDatabase(path, 50);
    db.close();
    chmodSync(path, 0o640);
    const asRoot = process.getuid?.() === 0;
    // A program's database owned by its own account, as on a server where Pilothouse runs as root.
    if (asRoot) chownSync(path, 65534, 65534);
    const source = fx.service.registerSource({ name: 'shared', path });
    const snap = await fx.service.snapshot(source.id);
    const restored = await fx.service.restore({ snapshotId: snap.id, inPlace: true });
    expect(restored).toMatchObject({ ok: true, inPlace: true });
    const after = statSync(path);
    expect(after.mode & 0o777).toBe(0o640);
    if (asRoot) expect([after.uid, after.gid]).toEqual([65534, 65534]);
    else expect(after.uid).toBe(process.getuid?.());
    expect(rowsOf(path)).toHaveLength(50);
  });
});
