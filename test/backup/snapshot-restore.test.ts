import { copyFileSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PhError } from '../../contract/errors';
import type { EventMessage } from '../../contract/events';
import {
  digestRows,
  flipBitInStoredPage,
  makeDatabase,
  maskCounters,
  rowsOf,
  sha256File,
  startFixture,
  type Fixture,
} from './backup-fixture';

describe('backup snapshots, verify and restore', () => {
  let fx: Fixture;
  beforeAll(async () => {
    fx = await startFixture();
  });
  afterAll(async () => fx.stop());

  const register = (name: string, path: string) => fx.service.registerSource({ name, path });

  it('restores byte for byte the image the snapshot captured, and its hash matches the manifest', async () => {
    const path = join(fx.dir, 'exact.db');
    const db = makeDatabase(path, 2000);
    const source = register('exact', path);
    const before = db.serialize();
    const snap = await fx.service.snapshot(source.id);
    db.prepare('DELETE FROM t WHERE id % 3 = 0').run(); // changes after the snapshot must not show
    const target = join(fx.dir, 'exact-restored.db');
    await fx.service.restore({ snapshotId: snap.id, targetPath: target });
    const restored = readFileSync(target);
    expect(sha256File(target)).toBe(snap.imageHash);
    expect(restored.length).toBe(before.length);
    expect(maskCounters(restored).equals(maskCounters(before))).toBe(true);
    expect(rowsOf(target)).toHaveLength(2000);
    // The repository holds every source's pages: its folders are its owner's alone.
    for (const folder of ['', 'packs', 'snapshots']) expect(statSync(join(fx.dir, 'repo', folder)).mode & 0o777).toBe(0o700);
    db.close();
  });

  it('stores only the changed pages in the second snapshot, and both restore to their own time', async () => {
    const path = join(fx.dir, 'incr.db');
    const db = makeDatabase(path, 4000);
    const source = register('incr', path);
    const first = await fx.service.snapshot(source.id);
    const firstRows = digestRows(path);
    db.prepare('UPDATE t SET v = randomblob(200) WHERE id IN (5, 1500, 3900)').run();
    const second = await fx.service.snapshot(source.id);
    expect(first.addedPages).toBeGreaterThan(40);
    // three leaf pages changed, plus page 1 (its header counter) and the odd interior page
    expect(second.addedPages).toBeLessThanOrEqual(6);
    expect(second.addedPages).toBeGreaterThanOrEqual(3);
    const a = join(fx.dir, 'incr-a.db');
    const b = join(fx.dir, 'incr-b.db');
    await fx.service.restore({ snapshotId: first.id, targetPath: a });
    await fx.service.restore({ snapshotId: second.id, targetPath: b });
    expect(digestRows(a)).toBe(firstRows);
    expect(digestRows(b)).toBe(digestRows(path));
    const stats = fx.service.listSources().find((s) => s.id === source.id);
    expect(stats?.snapshots).toBe(2);
    expect(stats?.dedupRatio).toBeGreaterThan(1.5);
    db.close();
  });

  it('verifies a sound snapshot: every page hash, the image hash and integrity_check', async () => {
    const path = join(fx.dir, 'sound.db');
    makeDatabase(path, 500).close();
    const snap = await fx.service.snapshot(register('sound', path).id);
    const v = await fx.service.verify(snap.id);
    expect(v).toMatchObject({ ok: true, imageHashOk: true, integrity: ['ok'], badPages: [], pagesChecked: snap.pageCount });
    expect(fx.service.listVerifications(snap.id)[0]?.id).toBe(v.id);
    expect(fx.service.listSnapshots().find((s) => s.id === snap.id)?.lastVerification?.ok).toBe(true);
  });

  it('catches a flipped bit in a stored page, names the page, and refuses to restore from it', async () => {
    const path = join(fx.dir, 'flip.db');
    makeDatabase(path, 800).close();
    const snap = await fx.service.snapshot(register('flip', path).id);
    // Page 7's blob is stored only for this snapshot: flip one bit in the middle of it.
    expect(flipBitInStoredPage(fx.service.repo, snap.id, 7)).toBe(true);

    const v = await fx.service.verify(snap.id);
    expect(v.ok).toBe(false);
    expect(v.badPages).toContain(7);
    expect(v.imageHashOk).toBe(false);
    const target = join(fx.dir, 'flip-restored.db');
    await expect(fx.service.restore({ snapshotId: snap.id, targetPath: target })).rejects.toMatchObject({
      code: 'PH_BACKUP_VERIFY_FAILED',
    });
    expect(existsSync(target)).toBe(false);
    expect(fx.service.history().restores[0]).toMatchObject({ snapshotId: snap.id, ok: false });
  });

  it('restores in place after a safety snapshot, leaving no stale -wal/-shm and the snapshot’s content', async () => {
    const path = join(fx.dir, 'inplace.db');
    const db = makeDatabase(path, 300);
    const source = register('inplace', path);
    const snap = await fx.service.snapshot(source.id);
    const atSnapshot = digestRows(path);
    db.prepare('INSERT INTO t (v) VALUES (randomblob(200))').run();
    db.prepare('DELETE FROM t WHERE id < 50').run();
    // Keep the WAL as a crashed program would leave it: frames not yet folded into the main file.
    copyFileSync(`${path}-wal`, join(fx.dir, 'stale-wal'));
    copyFileSync(`${path}-shm`, join(fx.dir, 'stale-shm'));
    const live = digestRows(path);
    db.close();
    copyFileSync(join(fx.dir, 'stale-wal'), `${path}-wal`);
    copyFileSync(join(fx.dir, 'stale-shm'), `${path}-shm`);

    const restore = await fx.service.restore({ snapshotId: snap.id, inPlace: true });
    expect(restore).toMatchObject({ ok: true, inPlace: true, target: path });
    expect(restore.safetySnapshotId).not.toBeNull();
    expect(existsSync(`${path}-wal`)).toBe(false);
    expect(existsSync(`${path}-shm`)).toBe(false);
    expect(digestRows(path)).toBe(atSnapshot);
    expect(sha256File(path)).toBe(snap.imageHash);
    // The safety snapshot holds what was there before, WAL frames included.
    const safety = join(fx.dir, 'inplace-safety.db');
    await fx.service.restore({ snapshotId: restore.safetySnapshotId as string, targetPath: safety });
    expect(digestRows(safety)).toBe(live);
  });

  it('refuses a new target whose -wal/-shm/-journal names are taken, leaving those files as they were', async () => {
    const path = join(fx.dir, 'stale.db');
    makeDatabase(path, 100).close();
    const snap = await fx.service.snapshot(register('stale', path).id);
    for (const side of ['-wal', '-shm', '-journal']) {
      const target = join(fx.dir, `someone-else${side.replace('-', '_')}.db`);
      const theirs = Buffer.alloc(4096, 7);
      writeFileSync(`${target}${side}`, theirs);
      await expect(fx.service.restore({ snapshotId: snap.id, targetPath: target })).rejects.toMatchObject({
        code: 'PH_BACKUP_PATH_REFUSED',
      });
      expect(readFileSync(`${target}${side}`)).toEqual(theirs);
      expect(existsSync(target)).toBe(false);
    }
    const target = join(fx.dir, 'stale-target.db');
    // The plan says what the restore does: it refuses beside sidecars and links into place; it removes and renames nothing.
    const steps = fx.service.planRestore({ snapshotId: snap.id, targetPath: target }).steps.join('\n');
    expect(steps).toContain(`link the temp file into place as ${target}`);
    expect(steps).toContain('refuse if stale-target.db or a -wal, -shm or -journal file beside it appeared');
    expect(steps).not.toMatch(/remove|rename/);
    await fx.service.restore({ snapshotId: snap.id, targetPath: target });
    const check = new BetterSqlite3(target, { readonly: true });
    expect(check.pragma('integrity_check', { simple: true })).toBe('ok');
    check.close();
    expect(rowsOf(target)).toHaveLength(100);
    expect(statSync(target).mode & 0o777).toBe(0o600);
    expect(readdirSync(fx.dir).filter((f) => f.includes('.restore-'))).toEqual([]);
  });

  it('point-in-time restore picks the newest snapshot at or before the time, and refuses a time before the first', async () => {
    const path = join(fx.dir, 'pitr.db');
    const db = makeDatabase(path, 50);
    const source = register('pitr', path);
    const t0 = Date.parse('2026-02-01T00:00:00Z');
    const counts: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      fx.clock.set(t0 + i * 60_000);
      await fx.service.snapshot(source.id);
      counts.push(rowsOf(path).length);
      makeDatabase(path, 10).close();
    }
    const plan = fx.service.planRestore({
      sourceId: source.id,
      at: new Date(t0 + 90_000).toISOString(),
      targetPath: join(fx.dir, 'pitr-1.db'),
    });
    expect(plan.snapshot.capturedAt).toBe(new Date(t0 + 60_000).toISOString());
    expect(plan.safetySnapshot).toBe(false);
    await fx.service.restore({ sourceId: source.id, at: new Date(t0 + 90_000).toISOString(), targetPath: join(fx.dir, 'pitr-1.db') });
    expect(rowsOf(join(fx.dir, 'pitr-1.db'))).toHaveLength(counts[1] as number);
    await fx.service.restore({ sourceId: source.id, at: new Date(t0 + 120_000).toISOString(), targetPath: join(fx.dir, 'pitr-2.db') });
    expect(rowsOf(join(fx.dir, 'pitr-2.db'))).toHaveLength(counts[2] as number);
    expect(() =>
      fx.service.planRestore({ sourceId: source.id, at: new Date(t0 - 1).toISOString(), targetPath: join(fx.dir, 'x.db') }),
    ).toThrow(expect.objectContaining({ code: 'PH_BACKUP_NO_SNAPSHOT' }));
    db.close();
  });

  it('refuses a target that exists, is relative, or sits in a missing folder, and in-place restore of its own database', async () => {
    const path = join(fx.dir, 'targets.db');
    makeDatabase(path, 10).close();
    const snap = await fx.service.snapshot(register('targets', path).id);
    const messages = new Set<string>();
    for (const targetPath of [path, 'relative.db', join(fx.dir, 'missing', 'x.db')]) {
      const err = await fx.service.restore({ snapshotId: snap.id, targetPath }).catch((e: PhError) => e);
      expect(err).toMatchObject({ code: 'PH_BACKUP_PATH_REFUSED', field: 'targetPath' });
      messages.add((err as PhError).message);
    }
    expect(messages.size).toBe(1);
    const app = await fx.service.snapshot('app');
    await expect(fx.service.restore({ snapshotId: app.id, inPlace: true })).rejects.toMatchObject({ code: 'PH_BACKUP_TARGET_IN_USE' });
    await expect(fx.service.verify('nope')).rejects.toBeInstanceOf(PhError);
  });

  it('publishes progress for each phase and a finished event naming the snapshot made on the bus', async () => {
    const path = join(fx.dir, 'events.db');
    makeDatabase(path, 3000).close();
    const source = register('events', path);
    const seen: EventMessage[] = [];
    const off = fx.bus.subscribe((m) => seen.push(m));
    const snap = await fx.service.snapshot(source.id);
    off();
    const phases = new Set(seen.flatMap((m) => (m.event === 'backup.progress' ? [m.payload.phase] : [])));
    expect(phases).toContain('capture');
    expect(phases).toContain('store');
    const done = seen.find((m) => m.event === 'backup.finished');
    expect(done?.payload).toMatchObject({ kind: 'snapshot', sourceId: source.id, snapshotId: snap.id, ok: true, cancelled: false });
    expect(snap.pageCount).toBeGreaterThan(100);
  });
});
