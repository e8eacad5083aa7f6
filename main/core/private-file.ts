import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';

/**
 * Files only this process's user may read (secrets, key files, the audit head), read and written
 * the one way every such file needs: opened without following links, so a link planted in the data
 * directory cannot make Pilothouse read or write elsewhere; kept 0600 in a 0700 folder (a looser
 * mode found on read is tightened); and replaced whole through a synced temp file, so a crash leaves
 * the old content or the new, never half of either.
 */

/** The file's text, or null when there is none. */
export function readPrivateFile(path: string): string | null {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    if ((fstatSync(fd).mode & 0o077) !== 0) fchmodSync(fd, 0o600);
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes `text` as the file's whole content. `replace` renames over what is there; `create` links
 * the new file in place, which refuses an existing one: two writers racing to create agree on the
 * first (false: a file was already there, and it is kept).
 */
export function writePrivateFile(path: string, text: string, mode: 'create' | 'replace'): boolean {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    if (mode === 'replace') renameSync(temp, path);
    else {
      try {
        linkSync(temp, path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw err;
      }
    }
    syncDir(dir);
    return true;
  } finally {
    rmSync(temp, { force: true });
  }
}

/** fsync a directory so a rename or link in it survives a power cut. */
function syncDir(dir: string): void {
  const fd = openSync(dir, constants.O_RDONLY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
