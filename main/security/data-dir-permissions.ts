import { chmodSync, closeSync, constants, fchmodSync, fstatSync, lstatSync, openSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DATA_DIR_FILES, DATA_DIR_SECRET_FOLDERS, SPARE_ADMIN_KEY } from '../core';
import type { Logger } from '../logger';

/** The files at the top of the data directory: they hold keys, the database or what guards it. */
const OWNER_ONLY_FILES = DATA_DIR_FILES;
/** Folders of secrets: ours, the webhook signing secrets and the self-signed TLS key. */
const OWNER_ONLY_DIRS = DATA_DIR_SECRET_FOLDERS;

/**
 * Makes the data directory (and its secrets folder) 0700 and the database, key and secret files 0600,
 * whatever mode an earlier version or a `mkdir` by hand left them with: a 0755 directory with a 0644
 * database lets every local user read every key hash, session and audit row. SQLite gives the -wal
 * and -shm files it creates later the database file's mode, so fixing it at start covers them too.
 * Files are changed through a descriptor opened without following links, so a link planted in the
 * directory cannot make Pilothouse change the mode of a file elsewhere. What cannot be fixed is
 * logged at warn and returned; start-up goes on.
 */
export function hardenDataDir(dataDir: string, logger: Logger): string[] {
  const problems: string[] = [];
  const fix = (path: string, mode: number, kind: 'dir' | 'file'): void => {
    try {
      if (kind === 'dir') {
        if (!lstatSync(path).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
        chmodSync(path, mode);
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
    fix(join(dataDir, name), 0o600, 'file');
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
