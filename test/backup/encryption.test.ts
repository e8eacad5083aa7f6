import { spawn } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/temp-dir';
import { digestRows } from './backup-fixture';
import { filesContaining, makeMarkedDatabase, openService, type Opened } from './encryption/repo-harness';

describe('encryption at rest', () => {
  const dirs: { remove: () => void }[] = [];
  const open: Opened[] = [];
  const fresh = () => {
    const d = tempDir('ph-enc-');
    dirs.push(d);
    return d.path;
  };
  const started = async (...args: Parameters<typeof openService>) => {
    const o = await openService(...args);
    open.push(o);
    return o;
  };
  afterEach(async () => {
    for (const o of open.splice(0)) await o.stop().catch(() => undefined);
    for (const d of dirs.splice(0)) d.remove();
  });

  it('a known row is found in a plain repository and nowhere in an encrypted one, and the encrypted snapshot restores equal', async () => {
    const plainDir = fresh();
    const encDir = fresh();
    const plainDb = makeMarkedDatabase(join(plainDir, 'src.db'), 40);
    const encDb = makeMarkedDatabase(join(encDir, 'src.db'), 40);
    const needle = (m: Buffer) => m.subarray(1000, 1064);
    const plain = await started(plainDir, { encryption: false });
    const src1 = plain.service.registerSource({ name: 'src', path: join(plainDir, 'src.db') });
    await plain.service.snapshot(src1.id);
    expect(filesContaining(join(plainDir, 'repo'), needle(plainDb.marker)).length).toBeGreaterThan(0);

    const enc = await started(encDir);
    const src2 = enc.service.registerSource({ name: 'src', path: join(encDir, 'src.db') });
    const snap = await enc.service.snapshot(src2.id);
    expect(enc.service.keyStatus()).toMatchObject({ encrypted: true, format: 'encrypted', wrapped: false, locked: false });
    expect(filesContaining(join(encDir, 'repo'), needle(encDb.marker))).toEqual([]);
    // The manifest names the source; sealed, it does not.
    expect(filesContaining(join(encDir, 'repo', 'snapshots'), Buffer.from('src.db'))).toEqual([]);
    expect(statSync(join(encDir, 'secrets', 'backup-repository.key')).mode & 0o777).toBe(0o600);

    encDb.db.close();
    plainDb.db.close();
    const again = await enc.service.snapshot(src2.id);
    expect(again.addedPages).toBe(0); // keyed addresses still deduplicate
    await enc.service.restore({ snapshotId: snap.id, targetPath: join(encDir, 'restored.db') });
    expect(digestRows(join(encDir, 'restored.db'))).toBe(digestRows(join(encDir, 'src.db')));
    expect((await enc.service.verify(snap.id)).ok).toBe(true);
  });

  it('an encrypted repository refuses to open with another key', async () => {
    const dir = fresh();
    makeMarkedDatabase(join(dir, 'src.db'), 5).db.close();
    const first = await started(dir);
    await first.service.snapshot(first.service.registerSource({ name: 'src', path: join(dir, 'src.db') }).id);
    await first.stop();
    open.length = 0;
    writeFileSync(
      join(dir, 'secrets', 'backup-repository.key'),
      JSON.stringify({ v: 1, wrapped: false, key: Buffer.alloc(32, 7).toString('base64') }),
    );
    await expect(openService(dir)).rejects.toMatchObject({ code: 'PH_BACKUP_KEY_WRONG' });
  });

  it('a passphrase wraps the key: the file no longer holds it, a restart starts locked, the wrong passphrase is refused and the right one unlocks', async () => {
    const dir = fresh();
    makeMarkedDatabase(join(dir, 'src.db'), 5).db.close();
    const first = await started(dir);
    const src = first.service.registerSource({ name: 'src', path: join(dir, 'src.db') });
    await first.service.snapshot(src.id);
    const exported = first.service.exportKey();
    first.service.setKeyPassphrase(null, 'correct horse battery staple');
    const file = readFileSync(join(dir, 'secrets', 'backup-repository.key'), 'utf8');
    expect(file).not.toContain(exported.masterKey);
    expect(JSON.parse(file)).toMatchObject({ wrapped: true });
    await first.stop();
    open.length = 0;

    const second = await started(dir);
    expect(second.service.keyStatus()).toMatchObject({ locked: true, wrapped: true });
    expect(second.service.status().state).toBe('degraded');
    await expect(second.service.snapshot(src.id)).rejects.toMatchObject({ code: 'PH_BACKUP_KEY_LOCKED' });
    await expect(second.service.unlockKey('wrong')).rejects.toMatchObject({ code: 'PH_BACKUP_KEY_WRONG' });
    expect((await second.service.unlockKey('correct horse battery staple')).locked).toBe(false);
    expect(second.service.exportKey()).toEqual(exported);
    await second.service.snapshot(src.id);
    expect(second.service.listSnapshots(src.id)).toHaveLength(2);
    // Changing it needs the current one.
    expect(() => second.service.setKeyPassphrase('wrong', 'new')).toThrow(expect.objectContaining({ code: 'PH_BACKUP_KEY_WRONG' }));
    second.service.setKeyPassphrase('correct horse battery staple', null);
    expect(JSON.parse(readFileSync(join(dir, 'secrets', 'backup-repository.key'), 'utf8'))).toMatchObject({ wrapped: false });
  });

  it('a plain repository is encrypted in place at start: no plaintext is left, and every snapshot verifies and restores', async () => {
    const dir = fresh();
    const { db, marker } = makeMarkedDatabase(join(dir, 'src.db'), 60);
    const plain = await started(dir, { encryption: false });
    const src = plain.service.registerSource({ name: 'src', path: join(dir, 'src.db') });
    const s1 = await plain.service.snapshot(src.id);
    db.prepare('UPDATE t SET v = randomblob(4000) WHERE id % 3 = 0').run();
    db.close();
    const s2 = await plain.service.snapshot(src.id);
    const before = digestRows(join(dir, 'src.db'));
    await plain.stop();
    open.length = 0;

    const enc = await started(dir);
    expect(enc.service.keyStatus().format).toBe('encrypted');
    expect(filesContaining(join(dir, 'repo'), marker.subarray(1000, 1064))).toEqual([]);
    for (const s of [s1, s2]) expect((await enc.service.verify(s.id)).ok).toBe(true);
    await enc.service.restore({ snapshotId: s2.id, targetPath: join(dir, 'restored.db') });
    expect(digestRows(join(dir, 'restored.db'))).toBe(before);
  });

  it('a migration killed with SIGKILL part way is finished by the next start, with every snapshot whole', async () => {
    const dir = fresh();
    const { db, marker } = makeMarkedDatabase(join(dir, 'src.db'), 300);
    const plain = await started(dir, { encryption: false });
    const src = plain.service.registerSource({ name: 'src', path: join(dir, 'src.db') });
    const s1 = await plain.service.snapshot(src.id);
    db.prepare('UPDATE t SET v = randomblob(4000) WHERE id % 4 = 0').run();
    db.close();
    const s2 = await plain.service.snapshot(src.id);
    const before = digestRows(join(dir, 'src.db'));
    await plain.stop();
    open.length = 0;

    const child = spawn(process.execPath, ['--import', 'tsx', resolve(import.meta.dirname, 'encryption', 'migrate-child.ts'), dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const killed = await new Promise<string>((done) => {
      let steps = 0;
      child.stdout.on('data', (d: Buffer) => {
        steps += d.toString().split('step').length - 1;
        if (steps >= 3) child.kill('SIGKILL');
      });
      child.on('exit', (code, signal) => done(signal ?? `exit ${code}: ${stderr}`));
    });
    expect(killed).toBe('SIGKILL');
    const index = new BetterSqlite3(join(dir, 'repo', 'index.db'), { readonly: true });
    expect(index.prepare("SELECT v FROM meta WHERE k = 'format'").pluck().get()).toBe('migrating');
    index.close();

    const enc = await started(dir);
    expect(enc.service.keyStatus().format).toBe('encrypted');
    expect(filesContaining(join(dir, 'repo'), marker.subarray(1000, 1064))).toEqual([]);
    for (const s of [s1, s2]) expect((await enc.service.verify(s.id)).ok).toBe(true);
    await enc.service.restore({ snapshotId: s2.id, targetPath: join(dir, 'restored.db') });
    expect(digestRows(join(dir, 'restored.db'))).toBe(before);
  }, 60_000);
});
