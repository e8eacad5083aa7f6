import { lstatSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { PhError } from '../../contract/errors';
import { DATA_DIR_FILES, DATA_DIR_FOLDERS, SPARE_ADMIN_KEY, isWellFormed } from '../core';

/**
 * One message for every refusal: it never says whether the path exists, is a folder, is a link
 * or lies outside the roots, so the answer teaches nothing about the file system beyond the roots.
 */
const SOURCE_REFUSED = 'The source must be an existing file under a backup root (setting backup.roots)';
export const TARGET_REFUSED = 'The restore target must be a new file in an existing folder under a backup root (setting backup.roots)';
const OWN_REFUSED =
  "Pilothouse's own files in its data directory are neither sources nor restore targets (the app source covers its database)";

/** Bidirectional controls (LRM, RLM, the embeddings, overrides and isolates) and the line and paragraph separators. */
const HIDDEN = /[\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;

/**
 * A path that is not what it shows: a NUL or another control character (C0, DEL, C1), a lone UTF-16
 * surrogate, a bidirectional control or a line separator. No file system call takes a NUL (Node
 * throws a TypeError naming the path); a lone surrogate reaches the disk as U+FFFD, another name than
 * the one asked for (a restore then failed with a 500); the others make a name in a log, the history
 * or the console read as another (`r\u202ex.db`). Every path input is refused for it, first, with
 * the refusal of its area.
 */
export function hasUnsafeChars(path: string): boolean {
  if (!isWellFormed(path) || HIDDEN.test(path)) return true;
  for (let i = 0; i < path.length; i += 1) {
    const c = path.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c < 0xa0)) return true;
  }
  return false;
}

/**
 * Where backups may read and restores may write: under the admin's `backup.roots`, compared after
 * resolving symbolic links on both sides, so a link inside a root that points out of it is refused.
 */
export class BackupPathPolicy {
  readonly #roots: readonly string[];

  /**
   * `picked`: the folders the desktop user added in the console since (see PickedRoots), read on each check.
   * `dataDir`: the node's own, a root by default: what Pilothouse keeps there is never read or written
   * as a file (a restore over its picked-roots list stopped the next start; one into `backups/` would
   * write inside the repository).
   */
  constructor(
    roots: readonly string[],
    private readonly picked: () => readonly string[] = () => [],
    private readonly dataDir: string | null = null,
  ) {
    // A root that does not exist (yet) admits nothing until it does; it is resolved again on each check.
    this.#roots = roots.map((root) => resolve(root));
  }

  get roots(): readonly string[] {
    return [...this.#roots, ...this.picked()];
  }

  /** The real path of a source to back up: an existing regular file under a root. */
  source(path: string, field = 'path'): string {
    const refused = (): PhError => new PhError('PH_BACKUP_PATH_REFUSED', SOURCE_REFUSED, { field });
    if (hasUnsafeChars(path) || !isAbsolute(path)) throw refused();
    let real: string;
    try {
      real = realpathSync(path);
      if (!statSync(real).isFile()) throw refused();
    } catch {
      throw refused();
    }
    if (!this.#under(real)) throw refused();
    this.#notOwn(real, field);
    return real;
  }

  /**
   * Where a restore to a new file goes: the real path of its folder (under a root) joined with its
   * name. Anything already at that name or its sidecar names (a file, a folder, a dangling link) is refused.
   */
  newTarget(path: string, field = 'targetPath'): string {
    const refused = (): PhError => new PhError('PH_BACKUP_PATH_REFUSED', TARGET_REFUSED, { field });
    if (hasUnsafeChars(path) || !isAbsolute(path)) throw refused();
    const name = basename(resolve(path));
    if (name === '' || name === '.' || name === '..') throw refused();
    let folder: string;
    try {
      folder = realpathSync(dirname(resolve(path)));
      if (!statSync(folder).isDirectory()) throw refused();
    } catch {
      throw refused();
    }
    if (!this.#under(folder)) throw refused();
    const target = join(folder, name);
    this.#notOwn(target, field);
    // The sidecars count as the file: a stale -wal beside a new database would be replayed into it.
    if (['', '-wal', '-shm', '-journal'].some((side) => present(`${target}${side}`))) throw refused();
    return target;
  }

  /**
   * Where an in-place restore writes: the source's real path when the file is there, or (a lost
   * database being brought back) the real folder under a root joined with its name.
   */
  inPlaceTarget(path: string, field = 'inPlace'): string {
    if (hasUnsafeChars(path)) throw new PhError('PH_BACKUP_PATH_REFUSED', SOURCE_REFUSED, { field });
    if (present(path)) return this.source(path, field);
    return this.newTarget(path, field);
  }

  #notOwn(real: string, field: string): void {
    if (this.dataDir === null) return;
    let home: string;
    try {
      home = realpathSync(this.dataDir);
    } catch {
      return;
    }
    const rel = relative(home, real);
    if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return;
    // Its own entries (core/data-dir.ts); a folder an operator makes beside them is theirs.
    const [first = ''] = rel.split(sep);
    const ours = rel.includes(sep) ? DATA_DIR_FOLDERS.includes(first) : DATA_DIR_FILES.includes(rel) || SPARE_ADMIN_KEY.test(rel);
    if (ours) throw new PhError('PH_BACKUP_PATH_REFUSED', OWN_REFUSED, { field });
  }

  #under(real: string): boolean {
    return this.roots.some((root) => {
      let realRoot: string;
      try {
        realRoot = realpathSync(root);
      } catch {
        return false;
      }
      const rel = relative(realRoot, real);
      return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
    });
  }
}

function present(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
