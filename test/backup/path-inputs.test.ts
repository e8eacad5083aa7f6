import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDatabase, startFixture, type Fixture } from './backup-fixture';

describe('path inputs with a control character, a lone surrogate, a bidirectional control or a line separator', () => {
  let fx: Fixture;
  let snapshotId: string;
  beforeAll(async () => {
    fx = await startFixture();
    const path = join(fx.dir, 'p.db');
    makeDatabase(path, 50).close();
    const source = fx.service.registerSource({ name: 'p', path });
    snapshotId = (await fx.service.snapshot(source.id)).id;
  });
  afterAll(async () => fx.stop());

  const bad = (name: string): string[] => [
    `x\u0000${name}`,
    `x\n${name}`,
    `x\u001b[31m${name}`,
    `x\u0085${name}`,
    // A lone surrogate reached the disk as U+FFFD (a restore failed with 500); the rest make a name read as another.
    `x\ud800${name}`,
    `x\u202e${name}`,
    `x\u2028${name}`,
    `x\u2066${name}`,
  ];

  it('refuses them as restore targets, in the plan and the restore alike, before any work and without a record in the history', async () => {
    for (const name of bad('y.db')) {
      const targetPath = join(fx.dir, name);
      const refused = { code: 'PH_BACKUP_PATH_REFUSED', field: 'targetPath' };
      expect(() => fx.service.planRestore({ snapshotId, targetPath })).toThrow(expect.objectContaining(refused));
      await expect(fx.service.restore({ snapshotId, targetPath })).rejects.toMatchObject(refused);
    }
    expect(fx.service.history().restores).toEqual([]);
    expect(readdirSync(fx.dir).filter((n) => n.startsWith('x') || n.startsWith('.x'))).toEqual([]);
  });

  it('refuses them as sources and as folder replicas, with the code of each', async () => {
    for (const name of bad('s.db')) {
      expect(() => fx.service.registerSource({ name: 'bad', path: join(fx.dir, name) })).toThrow(
        expect.objectContaining({ code: 'PH_BACKUP_PATH_REFUSED', field: 'path' }),
      );
    }
    for (const name of bad('replica')) {
      const path = join(fx.dir, name);
      if (!name.includes('\u0000')) mkdirSync(path);
      await expect(fx.service.replicas.add({ name: 'bad', kind: 'folder', path })).rejects.toMatchObject({
        code: 'PH_BACKUP_REPLICA_REFUSED',
        field: 'path',
      });
      expect(existsSync(join(path, 'repository.json'))).toBe(false);
    }
  });
});
