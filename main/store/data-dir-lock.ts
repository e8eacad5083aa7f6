import { join } from 'node:path';
import Database from 'better-sqlite3';
import { PhError } from '../../contract/errors';
import { DATA_DIR } from '../core';
import { storeFault } from './database';

/**
 * One process per data directory. A second start on a running node's directory would run its
 * start-up clean-up (temp files, packs the index does not name) under the live node and delete a
 * snapshot's pack or a restore's temp file while they were being written.
 *
 * The lock is SQLite's own file lock on `pilothouse.lock`, held by a connection in exclusive locking
 * mode for the life of the process: the kernel drops it when the process dies, kill -9 included, so
 * there is never a stale lock to clear. Lock-file libraries (proper-lockfile) judge staleness by a
 * file's age instead, which refuses a quick restart after a crash or lets two processes in.
 */
export class DataDirLock {
  #db: Database.Database | null = null;

  constructor(private readonly dataDir: string) {}

  acquire(): void {
    const path = join(this.dataDir, DATA_DIR.lock);
    let db: Database.Database;
    try {
      db = new Database(path, { timeout: 0 });
    } catch (err) {
      throw storeFault(err, path) ?? err;
    }
    try {
      db.pragma('journal_mode = DELETE');
      db.pragma('locking_mode = EXCLUSIVE');
      // The first write takes the exclusive lock; in this mode it is kept after the commit.
      db.exec(
        'BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS held (at INTEGER); DELETE FROM held; INSERT INTO held VALUES (unixepoch()); COMMIT',
      );
    } catch (err) {
      db.close();
      if ((err as { code?: string }).code?.startsWith('SQLITE_BUSY') === true)
        throw new PhError(
          'PH_DATA_DIR_IN_USE',
          `Another Pilothouse process is running on ${this.dataDir}; stop it, or pick another with --data-dir`,
          {
            details: { path: this.dataDir },
          },
        );
      throw storeFault(err, path) ?? err;
    }
    this.#db = db;
  }

  release(): void {
    this.#db?.close();
    this.#db = null;
  }
}
