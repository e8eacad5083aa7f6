import { chmodSync, closeSync, constants, fchmodSync, fstatSync, lstatSync, openSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DATA_DIR, DATA_DIR_FILES, DATA_DIR_SECRET_FOLDERS, SPARE_ADMIN_KEY } from '../core';
import type { Logger } from '../logger';

/** The files at the top of the data directory: they hold keys, the database or what guards it. */
const OWNER_ONLY_FILES = DATA_DIR_FILES;
/**
 * The files SQLite holds open and locked in this process by now: the database with its sidecars and
 * the data directory's lock. Closing any descriptor of a file drops every POSIX lock the process
 * holds on it, SQLite's included, so these are never opened here: their mode is changed by path.
 */
const SQLITE_FILES = new Set<string>(DATA_DIR_FILES.filter((name) => name.startsWith(DATA_DIR.database) || name.startsWith(DATA_DIR.lock)));
/** Folders of secrets: ours, the webhook signing secrets and the self-signed TLS key. */
const OWNER_ONLY_DIRS = DATA_DIR_SECRET_FOLDERS;

/**
 * Makes the data directory (and its secrets folder) 0700 and the database, key and secret files 0600,
 * whatever mode an earlier version or a `mkdir` by hand left them with: a 0755 directory with a 0644
 * database lets every local user read every key hash, session and audit row. SQLite gives the -wal
 * and -shm files it creates later the database file's mode, so fixing it at start covers them too.
 * Files are changed through a descriptor opened without following links, so a link planted in the
 * directory cannot make Pilothouse change the mode of a file elsewhere (SQLite's own files excepted,
 * above). What cannot be fixed is logged at warn and returned; start-up goes on.
 */
export function hardenDataDir(dataDir: string, logger: Logger): string[] {
  const problems: string[] = [];
  const fix = (path: string, mode: number, kind: 'dir' | 'file' | 'locked file'): void => {
    try {
      if (kind === 'dir') {
        if (!lstatSync(path).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
        chmodSync(path, mode);
        return;
      }
      if (kind === 'locked file') {
        // The directory is owner-only by now, so no one else can swap a link in after this check.
        const stat = lstatSync(path);
        if (!stat.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'EINVAL' });
        if ((stat.mode & 0o777) !== mode) chmodSync(path, mode);
        return;
      }
      const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
      try {
        if (!fstatSync(fd).isFile()) throw Object.assign(new Error('not a regular file'), { code: 'EINVAL' });
        if ((fstatSync(fd).mode & 0o777) !== mode) fchmodSync(fd, mode);
      } finally {
        closeSync(fd);
      }
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      if (code === 'ENOENT') return;
      problems.push(path);
      logger.warn({ path, code, wanted: mode.toString(8) }, 'cannot make this file owner-only; other local users may read it');
    }
  };
  fix(dataDir, 0o700, 'dir');
  for (const name of [...OWNER_ONLY_FILES, ...listQuietly(dataDir).filter((n) => SPARE_ADMIN_KEY.test(n))]) {
    fix(join(dataDir, name), 0o600, SQLITE_FILES.has(name) ? 'locked file' : 'file');
  }
  for (const folder of OWNER_ONLY_DIRS.map((name) => join(dataDir, name))) {
    fix(folder, 0o700, 'dir');
    for (const name of listQuietly(folder)) {
      const path = join(folder, name);
      // A folder of secrets inside one (secrets/backup-replicas holds a file per replica): 0700, its files 0600.
      // Taken as a file it failed the regular-file check and warned at every start.
      if (isDirectory(path)) {
        fix(path, 0o700, 'dir');
        for (const inner of listQuietly(path)) fix(join(path, inner), 0o600, 'file');
      } else fix(path, 0o600, 'file');
    }
  }
  return problems;
}

/** Without following a link: a link planted in a secrets folder is never taken for a folder to walk. */
function isDirectory(path: string): boolean {
  try {
    return lstatSync(path).isDirectory();
  } catch {
    return false;
  }
}

function listQuietly(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
