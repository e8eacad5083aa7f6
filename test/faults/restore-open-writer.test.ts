import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDatabase, rowsOf, sha256File, startFixture, type Fixture } from '../backup/backup-fixture';
import { startHolder } from './processes';

describe('in-place restore while another process holds the database open', () => {
  let fx: Fixture;
  beforeAll(async () => {
    fx = await startFixture();
  });
  afterAll(async () => fx.stop());

  for (const mode of ['wal', 'delete'] as const) {
    it(`refuses with PH_BACKUP_TARGET_IN_USE in ${mode} mode, and the holder's later writes are all kept`, async () => {
      const path = join(fx.dir, `held-${mode}.db`);
      makeDatabase(path, 50).close();
      const source = fx.service.registerSource({ name: `held-${mode}`, path });
      const snap = await fx.service.snapshot(source.id);
      const holder = await startHolder(path, mode);
      try {
        await holder.write();
        await expect(fx.service.restore({ snapshotId: snap.id, inPlace: true })).rejects.toMatchObject({
          code: 'PH_BACKUP_TARGET_IN_USE',
          status: 409,
          details: { pids: [holder.pid] },
        });
        const ids = [await holder.write(), await holder.write(), await holder.write()];
        const kept = new Set(rowsOf(path).map((r) => r.id));
        expect(ids.every((id) => kept.has(id))).toBe(true);
        expect(kept.size).toBe(54);
      } finally {
        await holder.stop();
      }
      const restored = await fx.service.restore({ snapshotId: snap.id, inPlace: true });
      expect(restored.ok).toBe(true);
      expect(rowsOf(path)).toHaveLength(50);
    });
  }

  it('replaces the database when forced, at the cost the docs name: the holder keeps writing to the old file', async () => {
    const path = join(fx.dir, 'forced.db');
    makeDatabase(path, 40).close();
    const source = fx.service.registerSource({ name: 'forced', path });
    const snap = await fx.service.snapshot(source.id);
    const holder = await startHolder(path, 'wal');
    try {
      await holder.write();
      const restored = await fx.service.restore({ snapshotId: snap.id, inPlace: true, force: true });
      expect(restored).toMatchObject({ ok: true, inPlace: true });
      expect(sha256File(path)).toBe(snap.imageHash);
      const lostId = await holder.write();
      expect(rowsOf(path).some((r) => r.id === lostId)).toBe(false);
    } finally {
      await holder.stop();
    }
  });
});
