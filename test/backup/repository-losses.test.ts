import { existsSync, mkdirSync, readdirSync, rmSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { BackupService } from '../../main/backup';
import { flipBitInStoredPage, makeDatabase, startFixture, type Fixture } from './backup-fixture';

/** A logger that keeps what it writes at warn and above, for the tests that check a loss is said out loud. */
function warnings(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines };
}

/** The fixture's service again, as a restart would build it over the same store and repository. */
async function restart(f: Fixture, logger: pino.Logger): Promise<BackupService> {
  await f.service.stop();
  const service = new BackupService({
    db: f.store,
    appDbPath: join(f.dir, 'pilothouse.db'),
    roots: [f.dir],
    repoDir: join(f.dir, 'repo'),
    clock: f.clock,
    logger,
    bus: f.bus,
    workers: 2,
    appSchedule: null,
    maintenanceSchedule: null,
    busyTimeoutMs: 1000,
  });
  await service.start();
  return service;
}

const packFiles = (f: Fixture): string[] => readdirSync(join(f.dir, 'repo', 'packs')).filter((n) => n.endsWith('.pack'));

describe('a backup repository that lost files', () => {
  let f: Fixture | null = null;
  let again: BackupService | null = null;
  afterEach(async () => {
    await again?.stop();
    again = null;
    await f?.stop();
    f = null;
  });

  it('a lost pack: the next snapshot stores its pages again and verifies, the loss is logged and degraded across a restart, and prune keeps the sound snapshot', async () => {
    const log = warnings();
    f = await startFixture({ logger: log.logger });
    const path = join(f.dir, 'a.db');
    const db = makeDatabase(path, 3000);
    const source = f.service.registerSource({ name: 'a', path, retention: { keepLast: 1 } });
    const first = await f.service.snapshot(source.id);
    expect((await f.service.verify(first.id)).ok).toBe(true);
    const lost = packFiles(f);
    for (const pack of lost) rmSync(join(f.dir, 'repo', 'packs', pack));

    db.prepare('UPDATE t SET v = randomblob(200) WHERE id <= 40').run();
    db.close();
    const second = await f.service.snapshot(source.id);
    // Every page is stored again: none is deduplicated against a pack that is gone.
    expect(second.addedPages).toBe(second.pageCount);
    expect(await f.service.verify(second.id)).toMatchObject({ ok: true, badPages: [], integrity: ['ok'] });
    expect(f.service.listSnapshots(source.id).find((s) => s.id === first.id)?.lastVerification).toMatchObject({ ok: false });
    const status = f.service.status();
    expect(status.state).toBe('degraded');
    expect(status.detail).toContain('PH_BACKUP_DAMAGED');
    expect(status.detail).toContain(lost[0]?.slice(0, -'.pack'.length));
    expect(log.lines).toContainEqual(expect.objectContaining({ code: 'PH_BACKUP_DAMAGED', snapshots: [first.id] }));

    again = await restart(f, log.logger);
    expect(again.status()).toMatchObject({ state: 'degraded', detail: expect.stringContaining('pack files missing') });
    const { removedSnapshotIds } = await again.prune();
    expect(removedSnapshotIds).toEqual([first.id]);
    expect(again.status().state).toBe('running');
    expect(await again.verify(second.id)).toMatchObject({ ok: true });
  });

  it('a pack cut short counts as lost: the next snapshot stores its pages again and verifies', async () => {
    f = await startFixture();
    const path = join(f.dir, 'cut.db');
    const db = makeDatabase(path, 3000);
    const source = f.service.registerSource({ name: 'cut', path });
    const first = await f.service.snapshot(source.id);
    const [pack] = packFiles(f);
    truncateSync(join(f.dir, 'repo', 'packs', pack as string), 100);

    db.prepare('UPDATE t SET v = randomblob(200) WHERE id <= 40').run();
    db.close();
    const second = await f.service.snapshot(source.id);
    // Nothing is deduplicated against the short pack: its later pages cannot be read.
    expect(second.addedPages).toBe(second.pageCount);
    expect(await f.service.verify(second.id)).toMatchObject({ ok: true, badPages: [], integrity: ['ok'] });
    expect(f.service.listSnapshots(source.id).find((s) => s.id === first.id)?.lastVerification).toMatchObject({ ok: false });
    expect(f.service.status()).toMatchObject({ state: 'degraded', detail: expect.stringContaining('PH_BACKUP_DAMAGED') });
  });

  it('a pack lost while stopped: found at start, a replica sync answers and keeps its copy, and a restore from that replica brings the pack back', async () => {
    const log = warnings();
    f = await startFixture();
    const path = join(f.dir, 'b.db');
    makeDatabase(path, 3000).close();
    const source = f.service.registerSource({ name: 'b', path });
    const snap = await f.service.snapshot(source.id);
    const folder = join(f.dir, 'replica');
    mkdirSync(folder);
    const replica = await f.service.replicas.add({ name: 'usb', kind: 'folder', path: folder });
    expect(await f.service.replicas.sync(replica.id)).toMatchObject({ state: 'ok' });
    const [pack] = packFiles(f);
    rmSync(join(f.dir, 'repo', 'packs', pack as string));

    again = await restart(f, log.logger);
    expect(again.status()).toMatchObject({ state: 'degraded', detail: expect.stringContaining('PH_BACKUP_DAMAGED') });
    expect(log.lines).toContainEqual(expect.objectContaining({ code: 'PH_BACKUP_DAMAGED', packs: [pack?.slice(0, -'.pack'.length)] }));
    // A replica added after the loss syncs what is left (it answered 500 on the missing pack).
    const late = join(f.dir, 'late');
    mkdirSync(late);
    const second = await again.replicas.add({ name: 'late', kind: 'folder', path: late });
    expect(await again.replicas.sync(second.id)).toMatchObject({ state: 'ok', lastError: null });
    // The first replica keeps the only copy of the lost pack.
    expect(await again.replicas.sync(replica.id)).toMatchObject({ state: 'ok' });
    expect(existsSync(join(folder, 'packs', pack as string))).toBe(true);

    await again.replicas.restoreFrom(replica.id);
    expect(again.status().state).toBe('running');
    expect(await again.verify(snap.id)).toMatchObject({ ok: true, integrity: ['ok'] });
  });

  it('retention does not count a snapshot that failed verification as kept: keepLast 1 keeps the newest sound one too', async () => {
    f = await startFixture();
    const path = join(f.dir, 'c.db');
    const db = makeDatabase(path, 2000);
    const source = f.service.registerSource({ name: 'c', path, retention: { keepLast: 1 } });
    const good = await f.service.snapshot(source.id);
    expect((await f.service.verify(good.id)).ok).toBe(true);
    db.prepare('INSERT INTO t (v) SELECT randomblob(200) FROM t LIMIT 400').run();
    const bad = await f.service.snapshot(source.id);
    // A page only the newer snapshot has (past the end of the older one's image).
    expect(flipBitInStoredPage(f.service.repo, bad.id, bad.pageCount)).toBe(true);
    expect((await f.service.verify(bad.id)).ok).toBe(false);

    expect((await f.service.prune()).removedSnapshotIds).toEqual([]);
    expect(f.service.listSnapshots(source.id).map((s) => s.id)).toEqual([bad.id, good.id]);

    db.prepare('DELETE FROM t WHERE id > 2200').run();
    db.close();
    const newest = await f.service.snapshot(source.id);
    expect(new Set((await f.service.prune()).removedSnapshotIds)).toEqual(new Set([good.id, bad.id]));
    expect(f.service.listSnapshots(source.id).map((s) => s.id)).toEqual([newest.id]);
  });

  it('a manifest deleted while running: restore by id and by time and the download answer 422 PH_BACKUP_DAMAGED, verify records the failure, prune settles it', async () => {
    f = await startFixture();
    const path = join(f.dir, 'd.db');
    makeDatabase(path, 1000).close();
    const source = f.service.registerSource({ name: 'd', path });
    const older = await f.service.snapshot(source.id);
    f.clock.set(f.clock.now() + 60_000);
    const snap = await f.service.snapshot(source.id);
    rmSync(join(f.dir, 'repo', 'snapshots', `${snap.id}.snap`));

    const damaged = { code: 'PH_BACKUP_DAMAGED', details: { snapshotId: snap.id } };
    await expect(f.service.restore({ sourceId: source.id, at: snap.capturedAt, targetPath: join(f.dir, 'o1.db') })).rejects.toMatchObject(
      damaged,
    );
    await expect(f.service.restore({ snapshotId: snap.id, targetPath: join(f.dir, 'o2.db') })).rejects.toMatchObject(damaged);
    await expect(f.service.exportImage(snap.id)).rejects.toMatchObject(damaged);
    const v = await f.service.verify(snap.id);
    expect(v).toMatchObject({ ok: false });
    expect(v.integrity.join(' ')).toContain('missing');
    expect(f.service.history().restores.every((r) => r.error?.startsWith('PH_BACKUP_DAMAGED'))).toBe(true);
    expect(f.service.status()).toMatchObject({ state: 'degraded', detail: expect.stringContaining(snap.id) });

    expect((await f.service.prune()).removedSnapshotIds).toEqual([snap.id]);
    expect(f.service.listSnapshots(source.id).map((s) => s.id)).toEqual([older.id]);
    expect(f.service.status().state).toBe('running');
  });

  it('a manifest or the whole repository folder lost while stopped: logged at start, listed as damaged, status degraded', async () => {
    const log = warnings();
    f = await startFixture();
    const path = join(f.dir, 'e.db');
    makeDatabase(path, 1000).close();
    const source = f.service.registerSource({ name: 'e', path });
    const gone = await f.service.snapshot(source.id);
    const kept = await f.service.snapshot(source.id);
    rmSync(join(f.dir, 'repo', 'snapshots', `${gone.id}.snap`));

    again = await restart(f, log.logger);
    expect(again.listSnapshots(source.id).map((s) => s.id)).toContain(gone.id);
    expect(again.listSnapshots(source.id).find((s) => s.id === gone.id)?.lastVerification).toMatchObject({ ok: false });
    expect(again.status()).toMatchObject({ state: 'degraded', detail: expect.stringContaining(gone.id) });
    expect(log.lines).toContainEqual(expect.objectContaining({ code: 'PH_BACKUP_DAMAGED', snapshots: [gone.id] }));

    await again.stop();
    rmSync(join(f.dir, 'repo'), { recursive: true });
    log.lines.length = 0;
    again = await restart({ ...f, service: again }, log.logger);
    expect(again.status()).toMatchObject({ state: 'degraded', detail: expect.stringContaining('repository folder was lost') });
    expect(again.status().detail).toContain(kept.id);
    expect(log.lines.map((l) => l.msg).join('\n')).toContain('the backup repository folder was missing');
  });
});
