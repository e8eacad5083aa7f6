import { realpathSync, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { PhError } from '../../contract/errors';
import { DATA_DIR, readPrivateFile, writePrivateFile } from '../core';
import { hasUnsafeChars } from './path-policy';

export const PICKED_ROOTS_FILE = DATA_DIR.pickedRoots;

/**
 * The folders the desktop user chose in the console's folder dialog, added to `backup.roots` on this
 * node. Only the desktop shell adds to it (through its own IPC channel, never an operation a key
 * could call over the network), so a folder enters only because the person at this machine picked it.
 * Kept in a 0600 file in the data directory, opened without following links (a link planted there
 * cannot widen the roots) and replaced by rename.
 */
export class PickedRoots {
  readonly #file: string;
  #folders: string[];

  constructor(dataDir: string) {
    this.#file = join(dataDir, PICKED_ROOTS_FILE);
    this.#folders = readFolders(this.#file);
  }

  get folders(): readonly string[] {
    return this.#folders;
  }

  /** Adds a folder (its real path); refused unless it is an existing folder. Returns the real path. */
  add(path: string): string {
    const refused = (): PhError => new PhError('PH_BACKUP_PATH_REFUSED', 'A backup root must be an existing folder', { field: 'path' });
    if (hasUnsafeChars(path) || !isAbsolute(path)) throw refused();
    let real: string;
    try {
      real = realpathSync(path);
      if (!statSync(real).isDirectory()) throw refused();
    } catch {
      throw refused();
    }
    if (this.#folders.includes(real)) return real;
    const next = [...this.#folders, real];
    writePrivateFile(this.#file, `${JSON.stringify(next, null, 2)}\n`, 'replace');
    this.#folders = next;
    return real;
  }
}

/** The stored list; a missing file is none, a damaged one is refused at start rather than guessed at. */
function readFolders(file: string): string[] {
  const text = readPrivateFile(file);
  if (text === null) return [];
  const refused = (): PhError =>
    new PhError('PH_CONFIG_INVALID', `${file} must hold a list of absolute folder paths: fix it or remove it`, { field: 'backup.roots' });
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw refused();
  }
  if (!Array.isArray(parsed) || !parsed.every((p): p is string => typeof p === 'string' && isAbsolute(p))) throw refused();
  return parsed;
}
