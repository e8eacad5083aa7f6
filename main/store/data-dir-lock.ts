import { closeSync, constants, lstatSync, openSync, unlinkSync } from 'node:fs';
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
    this.#prepare(path);
    try {
      this.#db = this.#lock(path);
    } catch (err) {
      // A live lock file is always a SQLite file: one that is not holds no lock, only stray bytes.
      if ((err as { code?: string }).code !== 'SQLITE_NOTADB') throw err;
      unlinkSync(path);
      this.#prepare(path);
      this.#db = this.#lock(path);
    }
  }

  release(): void {
    this.#db?.close();
    this.#db = null;
  }

  /**
   * The lock file as a regular file of this account's, 0600: a link would have SQLite lock whatever
   * it points to (another program's database), and a file others may read lets another account
   * hold a read lock on it and keep every start out.
   */
  #prepare(path: string): void {
    let kind: 'file' | 'other' | 'none' = 'none';
    try {
      kind = lstatSync(path).isFile() ? 'file' : 'other';
    } catch {
      kind = 'none';
    }
    if (kind === 'other')
      throw new PhError('PH_PERMISSION_DENIED', `${path} is not a regular file (a link or a folder); remove it and start again`, {
        details: { path },
      });
    if (kind === 'file') return;
    try {
      closeSync(openSync(path, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW, 0o600));
    } catch (err) {
      // Made meanwhile by a start racing this one: its lock decides.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw storeFault(err, path) ?? err;
    }
  }

  #lock(path: string): Database.Database {
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
      return db;
    } catch (err) {
      db.close();
      if ((err as { code?: string }).code?.startsWith('SQLITE_BUSY') === true)
        throw new PhError(
          'PH_DATA_DIR_IN_USE',
          `Another Pilothouse process is running on ${this.dataDir} (it holds ${path}: never delete that file while a node runs, it is the lock); stop it, or pick another with --data-dir`,
          { details: { path: this.dataDir } },
        );
      if ((err as { code?: string }).code === 'SQLITE_NOTADB') throw err;
      throw storeFault(err, path) ?? err;
    }
  }
}
