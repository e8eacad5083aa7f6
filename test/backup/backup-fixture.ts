import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { BackupService, backupMigrations, type BackupServiceOptions, type PageRepository } from '../../main/backup';
import { EventBus } from '../../main/events';
import { createLogger } from '../../main/logger';
import { openStore } from '../../main/store';
import { tempDir } from '../helpers/temp-dir';

export interface FakeClock {
  now(): number;
  set(ms: number): void;
}

export function fakeClock(start = Date.parse('2026-01-05T10:00:00Z')): FakeClock {
  let t = start;
  return { now: () => t, set: (ms) => (t = ms) };
}

export interface Fixture {
  readonly dir: string;
  readonly service: BackupService;
  readonly bus: EventBus;
  readonly clock: FakeClock;
  readonly store: BetterSqlite3.Database;
  stop(): Promise<void>;
}

/** A started BackupService over a fresh store and repository in a temp dir (no schedules of its own). */
export async function startFixture(overrides: Partial<BackupServiceOptions> = {}): Promise<Fixture> {
  const dir = tempDir('ph-backup-');
  const appDbPath = join(dir.path, 'pilothouse.db');
  const store = openStore({ path: appDbPath, migrations: backupMigrations });
  const bus = new EventBus();
  const clock = fakeClock();
  const service = new BackupService({
    db: store,
    appDbPath,
    roots: [dir.path],
    repoDir: join(dir.path, 'repo'),
    clock,
    logger: createLogger('silent'),
    bus,
    workers: 2,
    appSchedule: null,
    maintenanceSchedule: null,
    busyTimeoutMs: 1000,
    ...overrides,
  });
  await service.start();
  return {
    dir: dir.path,
    service,
    bus,
    clock,
    store,
    async stop() {
      await service.stop();
      store.close();
      dir.remove();
    },
  };
}

/**
 * A rollback-journal database with one row, open for the test to hold: `BEGIN EXCLUSIVE` on it keeps
 * a snapshot waiting in its capture (up to its busy window), so a test can act while it runs.
 */
export function heldDatabase(path: string): BetterSqlite3.Database {
  const writer = new BetterSqlite3(path);
  writer.pragma('journal_mode = DELETE');
  writer.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB); INSERT INTO t (v) VALUES (randomblob(5000))');
  return writer;
}

/** A WAL-mode database with `rows` rows of 200 random bytes each (about 20 rows a 4 KiB page). */
export function makeDatabase(path: string, rows: number): BetterSqlite3.Database {
  const db = new BetterSqlite3(path);
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v BLOB NOT NULL)');
  const insert = db.prepare('INSERT INTO t (v) VALUES (randomblob(200))');
  db.transaction(() => {
    for (let i = 0; i < rows; i += 1) insert.run();
  })();
  return db;
}

export function rowsOf(path: string): { id: number; v: Buffer }[] {
  const db = new BetterSqlite3(path, { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT id, v FROM t ORDER BY id').all() as { id: number; v: Buffer }[];
  } finally {
    db.close();
  }
}

/** The table's rows as one digest (comparing thousands of Buffers with toEqual is slow). */
export function digestRows(path: string): string {
  const hash = createHash('sha256');
  for (const r of rowsOf(path)) hash.update(`${r.id}:`).update(r.v);
  return hash.digest('hex');
}

export const sha256File = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

/**
 * The online backup API bumps two header fields of the copy it writes (the file change counter at
 * offset 24 and the version-valid-for number at 92, https://sqlite.org/fileformat.html); every other
 * byte of a snapshot equals the source's pages. This blanks those two fields so images compare.
 */
export function maskCounters(image: Buffer): Buffer {
  const copy = Buffer.from(image);
  copy.fill(0, 24, 28);
  copy.fill(0, 92, 96);
  return copy;
}

/**
 * Flips one bit in the middle of page `pageNumber` (1-based) of a snapshot, where its pack stores
 * it, as a failing disk would. False when the page's blob cannot be found (nothing is changed).
 */
export function flipBitInStoredPage(repo: PageRepository, snapshotId: string, pageNumber: number): boolean {
  const hash = repo.readManifest(snapshotId).pages.subarray((pageNumber - 1) * 32, pageNumber * 32);
  const loc = repo.locate(hash);
  if (loc === undefined) return false;
  const fd = openSync(repo.packPath(loc.pack), 'r+');
  try {
    const byte = Buffer.alloc(1);
    const at = loc.offset + Math.floor(loc.length / 2);
    readSync(fd, byte, 0, 1, at);
    byte[0] = (byte[0] as number) ^ 0x10;
    writeSync(fd, byte, 0, 1, at);
  } finally {
    closeSync(fd);
  }
  return true;
}
