import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDatabase, startFixture, type Fixture } from './backup-fixture';

describe('backup sources', () => {
  let fx: Fixture;
  beforeAll(async () => {
    fx = await startFixture();
  });
  afterAll(async () => fx.stop());

  const count = () => fx.service.listSources().length;

  it('has the app database as a source from the start', () => {
    const app = fx.service.listSources().find((s) => s.id === 'app');
    expect(app).toMatchObject({ kind: 'app', path: join(fx.dir, 'pilothouse.db') });
  });

  it('registers a SQLite file with its schedule and retention, and lists its next run', () => {
    const path = join(fx.dir, 'good.db');
    makeDatabase(path, 5).close();
    const s = fx.service.registerSource({ name: 'good', path, schedule: '0 2 * * *', retention: { keepLast: 3, keepWithin: '2d' } });
    expect(s).toMatchObject({
      name: 'good',
      path,
      kind: 'file',
      schedule: '0 2 * * *',
      retention: { keepLast: 3, keepWithin: '2d' },
      snapshots: 0,
    });
    expect(s.nextRunAt).not.toBeNull();
  });

  it('refuses a missing path, a relative path, a directory and a non-SQLite file, recording nothing', () => {
    const before = count();
    const text = join(fx.dir, 'notes.txt');
    writeFileSync(text, 'hello, this is not a database at all, just some text');
    const cases: [string, string][] = [
      [join(fx.dir, 'missing.db'), 'PH_BACKUP_PATH_REFUSED'],
      ['relative.db', 'PH_BACKUP_PATH_REFUSED'],
      [fx.dir, 'PH_BACKUP_PATH_REFUSED'],
      [text, 'PH_BACKUP_NOT_SQLITE'],
    ];
    for (const [path, code] of cases) {
      expect(() => fx.service.registerSource({ name: `bad-${code}-${path.length}`, path })).toThrow(expect.objectContaining({ code }));
    }
    expect(count()).toBe(before);
  });

  it('refuses a database that stays locked longer than the busy timeout', () => {
    const path = join(fx.dir, 'locked.db');
    const holder = new BetterSqlite3(path);
    holder.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)');
    holder.exec('BEGIN EXCLUSIVE; INSERT INTO t VALUES (2)');
    const before = count();
    const started = Date.now();
    expect(() => fx.service.registerSource({ name: 'locked', path })).toThrow(expect.objectContaining({ code: 'PH_BACKUP_SOURCE_LOCKED' }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(count()).toBe(before);
    holder.exec('ROLLBACK');
    holder.close();
  });

  it('refuses a duplicate name or path, a bad cron expression and a bad duration', () => {
    const path = join(fx.dir, 'dup.db');
    makeDatabase(path, 1).close();
    fx.service.registerSource({ name: 'dup', path });
    const before = count();
    const other = join(fx.dir, 'other.db');
    makeDatabase(other, 1).close();
    expect(() => fx.service.registerSource({ name: 'dup', path: other })).toThrow(
      expect.objectContaining({ code: 'PH_BACKUP_SOURCE_EXISTS' }),
    );
    expect(() => fx.service.registerSource({ name: 'dup2', path })).toThrow(expect.objectContaining({ code: 'PH_BACKUP_SOURCE_EXISTS' }));
    expect(() => fx.service.registerSource({ name: 'cron', path: other, schedule: 'every tuesday' })).toThrow(
      expect.objectContaining({ code: 'PH_BACKUP_SCHEDULE_INVALID' }),
    );
    expect(() => fx.service.registerSource({ name: 'dur', path: other, retention: { keepWithin: 'forever' } })).toThrow(
      expect.objectContaining({ code: 'PH_INVALID_INPUT' }),
    );
    expect(count()).toBe(before);
  });

  it('updates a schedule and retention, and removes a source while its snapshots stay', async () => {
    const path = join(fx.dir, 'upd.db');
    makeDatabase(path, 10).close();
    const s = fx.service.registerSource({ name: 'upd', path });
    const snap = await fx.service.snapshot(s.id);
    const updated = fx.service.updateSource({ id: s.id, schedule: '*/5 * * * *', retention: { keepDaily: 2 } });
    expect(updated).toMatchObject({ schedule: '*/5 * * * *', retention: { keepDaily: 2 } });
    expect(fx.service.removeSource(s.id)).toBe(true);
    expect(fx.service.listSnapshots().some((x) => x.id === snap.id)).toBe(true);
    expect(() => fx.service.removeSource('app')).toThrow(expect.objectContaining({ code: 'PH_CONFLICT' }));
    expect(() => fx.service.getSource(s.id)).toThrow(expect.objectContaining({ code: 'PH_BACKUP_SOURCE_NOT_FOUND' }));
  });

  it('a snapshot of a source locked too long fails with a clear error and is recorded as the last failure', async () => {
    const path = join(fx.dir, 'later-locked.db');
    makeDatabase(path, 10).close();
    const s = fx.service.registerSource({ name: 'later-locked', path });
    const db = new BetterSqlite3(path);
    db.pragma('journal_mode = DELETE');
    db.exec("BEGIN EXCLUSIVE; INSERT INTO t (v) VALUES (x'00')");
    await expect(fx.service.snapshot(s.id)).rejects.toMatchObject({ code: 'PH_BACKUP_SOURCE_LOCKED' });
    db.exec('ROLLBACK');
    db.close();
    const after = fx.service.listSources().find((x) => x.id === s.id);
    expect(after?.lastError).toContain('PH_BACKUP_SOURCE_LOCKED');
    expect(after?.lastFailureAt).not.toBeNull();
    await fx.service.snapshot(s.id);
    expect(fx.service.listSources().find((x) => x.id === s.id)?.lastError).toBeNull();
  });
});
