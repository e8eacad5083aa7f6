import { randomBytes } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import { PhError } from '../../contract/errors';
import type { RepoKeys } from './repo-crypto';

/**
 * `plain`: pages addressed by SHA-256 and stored in clear (repositories made before encryption, or
 * with it turned off); `migrating`: being rewritten to `encrypted` (repo-migrate.ts), resumed at the
 * next open after a crash; `encrypted`: every page and manifest sealed (see repo-crypto.ts).
 */
export type RepoFormat = 'plain' | 'migrating' | 'encrypted';

const get = (db: Database, k: string): string | undefined =>
  (db.prepare('SELECT v FROM meta WHERE k = ?').get(k) as { v: string } | undefined)?.v;

export function setMeta(db: Database, k: string, v: string): void {
  db.prepare('INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v').run(k, v);
}

export interface SettledFormat {
  readonly format: RepoFormat;
  /** Random, made with the repository: a replica records it, so a sync never mixes two repositories. */
  readonly repoId: string;
}

/**
 * Reads (or, for a new repository, decides) the format, and checks `keys` belong to it: an
 * encrypted repository opened without its key, or with another one, is refused before anything is read.
 */
export function settleFormat(db: Database, keys: RepoKeys | null, empty: boolean): SettledFormat {
  db.exec('CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL) STRICT');
  let format = get(db, 'format') as RepoFormat | undefined;
  if (format === undefined) {
    format = keys !== null && empty ? 'encrypted' : 'plain';
    db.transaction(() => {
      setMeta(db, 'format', format as RepoFormat);
      if (format === 'encrypted') setMeta(db, 'key_id', (keys as RepoKeys).id);
    })();
  }
  let repoId = get(db, 'repo_id');
  if (repoId === undefined) {
    repoId = `repo-${randomBytes(12).toString('hex')}`;
    setMeta(db, 'repo_id', repoId);
  }
  if (format !== 'plain') {
    if (keys === null) throw new PhError('PH_BACKUP_KEY_LOCKED', 'The backup repository is encrypted and its key is not loaded');
    if (get(db, 'key_id') !== keys.id) throw new PhError('PH_BACKUP_KEY_WRONG', 'The backup repository was encrypted with another key');
  }
  return { format, repoId };
}
