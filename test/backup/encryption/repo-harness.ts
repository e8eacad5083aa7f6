import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { BackupService, backupMigrations, type BackupServiceOptions } from '../../../main/backup';
import { EventBus } from '../../../main/events';
import { createLogger } from '../../../main/logger';
import { openStore } from '../../../main/store';

export interface Opened {
  readonly service: BackupService;
  stop(): Promise<void>;
}

/** A BackupService over `dir` (store, repository and secrets there), so a test can stop and start it again on the same files. */
export async function openService(dir: string, overrides: Partial<BackupServiceOptions> = {}): Promise<Opened> {
  const appDbPath = join(dir, 'pilothouse.db');
  const store = openStore({ path: appDbPath, migrations: backupMigrations });
  const service = new BackupService({
    db: store,
    appDbPath,
    roots: [dir],
    repoDir: join(dir, 'repo'),
    clock: { now: () => Date.now() },
    logger: createLogger('silent'),
    bus: new EventBus(),
    workers: 2,
    appSchedule: null,
    maintenanceSchedule: null,
    ...overrides,
  });
  try {
    await service.start();
  } catch (err) {
    store.close();
    throw err;
  }
  return {
    service,
    async stop() {
      await service.stop();
      store.close();
    },
  };
}

/**
 * A database whose rows are 4000 random bytes each, one row a page: such a page does not compress,
 * so a plain repository stores its bytes as they are, and a search of the files finds them.
 */
export function makeMarkedDatabase(path: string, rows: number): { db: BetterSqlite3.Database; marker: Buffer } {
  const db = new BetterSqlite3(path);
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v BLOB NOT NULL)');
  const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
  const marker = randomBytes(4000);
  db.transaction(() => {
    insert.run(marker);
    for (let i = 1; i < rows; i += 1) insert.run(randomBytes(4000));
  })();
  return { db, marker };
}

/** Every file under `dir` that contains `needle` (64 bytes from the middle of the marker are enough). */
export function filesContaining(dir: string, needle: Buffer): string[] {
  const hits: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (readFileSync(p).includes(needle)) hits.push(p);
    }
  };
  walk(dir);
  return hits;
}
