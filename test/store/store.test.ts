import { copyFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { PhError } from '../../contract/errors';
import { openStore, reclaimFreePages, schemaVersions, type Migration } from '../../main/store';
import { walNeeds } from '../../main/store/wal-guard';
import { tempDir } from '../helpers/temp-dir';

const v1: Migration = { scope: 'demo', version: 1, name: 'create t', up: 'CREATE TABLE t (x INTEGER)' };
const v2: Migration = { scope: 'demo', version: 2, name: 'add y', up: 'ALTER TABLE t ADD COLUMN y TEXT' };

describe('store', () => {
  const dirs: { remove: () => void }[] = [];
  const fresh = () => {
    const dir = tempDir();
    dirs.push(dir);
    return join(dir.path, 'pilothouse.db');
  };
  afterEach(() => dirs.splice(0).forEach((d) => d.remove()));

  it('makes new files with incremental auto-vacuum and converts an older file once, keeping its rows, so freed pages can leave the file', async () => {
    const created = openStore({ path: fresh(), migrations: [v1] });
    expect(created.pragma('auto_vacuum', { simple: true })).toBe(2);
    created.close();

    // A file an earlier version made: auto_vacuum off, a table already there.
    const path = fresh();
    const old = openStore({ path, migrations: [v1] });
    old.pragma('auto_vacuum = NONE');
    old.exec('VACUUM');
    expect(old.pragma('auto_vacuum', { simple: true })).toBe(0);
    const insert = old.prepare('INSERT INTO t (x) VALUES (?)');
    old.transaction(() => {
      for (let i = 0; i < 20_000; i += 1) insert.run(i);
    })();
    old.close();
    const converted = openStore({ path, migrations: [v1] });
    expect(converted.pragma('auto_vacuum', { simple: true })).toBe(2);
    expect((converted.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n).toBe(20_000);
    converted.exec('DELETE FROM t');
    const freed = await reclaimFreePages(converted);
    expect(freed.freedPages).toBeGreaterThan(10);
    expect(converted.pragma('freelist_count', { simple: true })).toBe(0);
    converted.close();
  });

  it('opens in WAL mode with foreign keys on and applies migrations in order once', () => {
    const path = fresh();
    const db = openStore({ path, migrations: [v2, v1] });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(schemaVersions(db)).toEqual({ demo: 2 });
    db.prepare('INSERT INTO t (x, y) VALUES (1, ?)').run('a');
    db.close();
    const again = openStore({ path, migrations: [v1, v2] });
    expect((again.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n).toBe(1);
    again.close();
  });

  it('applies only the migrations added since the last start', () => {
    const path = fresh();
    openStore({ path, migrations: [v1] }).close();
    const db = openStore({ path, migrations: [v1, v2] });
    expect(schemaVersions(db)).toEqual({ demo: 2 });
    expect(db.prepare("SELECT name FROM pragma_table_info('t')").all()).toEqual([{ name: 'x' }, { name: 'y' }]);
    db.close();
  });

  it('rolls a failing migration back whole and records nothing for it', () => {
    const path = fresh();
    const broken: Migration = { scope: 'demo', version: 2, name: 'broken', up: 'CREATE TABLE u (a); SELECT * FROM nowhere' };
    expect(() => openStore({ path, migrations: [v1, broken] })).toThrow();
    const db = openStore({ path, migrations: [v1] });
    expect(schemaVersions(db)).toEqual({ demo: 1 });
    expect(db.prepare("SELECT name FROM sqlite_schema WHERE name = 'u'").all()).toEqual([]);
    db.close();
  });

  it('refuses a file that is not a SQLite database with PH_STORE_NOT_PILOTHOUSE', () => {
    const path = fresh();
    writeFileSync(path, 'this is not a database, just some text that is long enough to look like a header');
    expect(() => openStore({ path, migrations: [v1] })).toThrowError(expect.objectContaining({ code: 'PH_STORE_NOT_PILOTHOUSE' }));
  });

  it("refuses another application's SQLite database without changing it", () => {
    const path = fresh();
    const other = new BetterSqlite3(path);
    other.exec('CREATE TABLE theirs (a)');
    other.close();
    expect(() => openStore({ path, migrations: [v1] })).toThrowError(expect.objectContaining({ code: 'PH_STORE_NOT_PILOTHOUSE' }));
    const check = new BetterSqlite3(path);
    expect(check.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").all()).toEqual([{ name: 'theirs' }]);
    check.close();
  });

  it('refuses a database migrated by newer code with PH_STORE_TOO_NEW', () => {
    const path = fresh();
    openStore({ path, migrations: [v1, v2] }).close();
    let caught: unknown;
    try {
      openStore({ path, migrations: [v1] });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(PhError);
    expect((caught as PhError).code).toBe('PH_STORE_TOO_NEW');
    expect((caught as PhError).message).toContain('demo schema 2');
  });
  it('opens after a kill that left a WAL whose database counts pages no file holds (freed in the transaction that made them)', () => {
    const withIndexes: Migration = {
      scope: 'demo',
      version: 1,
      name: 'a table with unique columns',
      up: "CREATE TABLE r (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, kind TEXT NOT NULL CHECK (kind IN ('a')))",
    };
    // A migration that changes a CHECK rebuilds the table; the pages of the old one are freed
    // in the same transaction, and SQLite writes them nowhere.
    const rebuild: Migration = {
      scope: 'demo',
      version: 2,
      name: 'rebuild r',
      up: `CREATE TABLE r_next (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, kind TEXT NOT NULL CHECK (kind IN ('a', 'b')));
           INSERT INTO r_next SELECT * FROM r; DROP TABLE r; ALTER TABLE r_next RENAME TO r;`,
    };
    const path = fresh();
    openStore({ path, migrations: [withIndexes] }).close();
    const live = openStore({ path, migrations: [withIndexes, rebuild] });
    // What kill -9 leaves: the main file and the WAL as they are while the process still runs.
    const crashed = fresh();
    copyFileSync(path, crashed);
    copyFileSync(`${path}-wal`, `${crashed}-wal`);
    live.close();
    const needs = walNeeds(`${crashed}-wal`);
    expect(needs?.mainFileBytes ?? 0).toBeGreaterThan(statSync(crashed).size);

    const reopened = openStore({ path: crashed, migrations: [withIndexes, rebuild] });
    expect(schemaVersions(reopened).demo).toBe(2);
    expect(reopened.pragma('quick_check', { simple: true })).toBe('ok');
    reopened.close();
  });
});
