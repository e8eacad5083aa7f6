import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDatabase, startFixture, type Fixture } from './backup-fixture';

describe('a replica’s lag', () => {
  let fx: Fixture;
  beforeAll(async () => {
    fx = await startFixture();
  });
  afterAll(async () => fx.stop());

  it('is 0 snapshots and 0 bytes for an up-to-date replica when it is worked out again from its last listing (as after each snapshot)', async () => {
    const path = join(fx.dir, 'l.db');
    const db = makeDatabase(path, 500);
    const source = fx.service.registerSource({ name: 'l', path });
    await fx.service.snapshot(source.id);
    db.prepare('INSERT INTO t (v) VALUES (randomblob(200))').run();
    db.close();
    await fx.service.snapshot(source.id);
    const folder = join(fx.dir, 'replica');
    mkdirSync(folder);
    const replica = await fx.service.replicas.add({ name: 'usb', kind: 'folder', path: folder });
    expect(replica).toMatchObject({ lagSnapshots: 2 });
    expect(replica.lagBytes).toBeGreaterThan(0);
    expect(await fx.service.replicas.sync(replica.id)).toMatchObject({ state: 'ok', lagSnapshots: 0, lagBytes: 0 });

    await fx.service.replicas.refreshLag();
    expect(fx.service.replicas.get(replica.id)).toMatchObject({ lagSnapshots: 0, lagBytes: 0 });
  });
});
