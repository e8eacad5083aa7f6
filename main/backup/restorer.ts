import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, linkSync, renameSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { PhError } from '../../contract/errors';
import { fsyncDir } from './fs-durable';
import { TARGET_REFUSED } from './path-policy';
import type { ManifestHeader } from './manifest';
import { findOpenHolders } from './open-holders';
import type { PageRepository } from './page-repository';
import type { PageWorkers } from './page-workers';
import { reassemble } from './reassembler';
import { recordRestoreIntent } from './restore-leftovers';
import { removeImage } from './snapshotter';

const SIDECARS = ['-wal', '-shm', '-journal'] as const;

/**
 * Rebuilds the image beside the target, proves it (pages, image hash, integrity_check), makes the
 * old database self-contained and drops its -wal/-shm, then renames the new file over it. A crash
 * at any point leaves the old database (complete in its main file) or the new one, never a mix.
 */
export async function restoreFile(
  repo: PageRepository,
  workers: PageWorkers,
  h: ManifestHeader,
  target: string,
  inPlace: boolean,
  report: (phase: string, done: number, total: number) => void,
  force = false,
): Promise<void> {
  const temp = join(dirname(target), `.${basename(target)}.restore-${randomBytes(4).toString('hex')}.tmp`);
  const intent = recordRestoreIntent(repo.dir, temp);
  try {
    const manifest = repo.readManifest(h.id);
    const { badPages, imageHash } = await reassemble(repo, manifest, temp, (d, t) => report('pages', d, t));
    if (badPages.length > 0)
      throw new PhError(
        'PH_BACKUP_VERIFY_FAILED',
        `${badPages.length} pages of ${h.id} failed their hash check (first: page ${badPages[0]})`,
      );
    if (imageHash !== manifest.imageHash)
      throw new PhError('PH_BACKUP_VERIFY_FAILED', `The rebuilt image of ${h.id} does not match its hash`);
    report('integrity_check', 0, 1);
    const integrity = await workers.integrityCheck(temp);
    for (const side of ['-wal', '-shm']) removeImage(`${temp}${side}`); // left by the read-only check's connection
    if (integrity.length !== 1 || integrity[0] !== 'ok')
      throw new PhError('PH_BACKUP_VERIFY_FAILED', `integrity_check on the rebuilt image: ${integrity.slice(0, 3).join('; ')}`);
    report('swap', 0, 1);
    if (inPlace) {
      if (existsSync(target)) {
        if (!force) assertNotInUse(target);
        quiesce(target, force);
        keepOwnerAndMode(temp, target);
      }
      for (const side of SIDECARS) removeImage(`${target}${side}`);
      renameSync(temp, target);
    } else {
      // A new file never replaces anything: sidecars beside it belong to someone else (and a stale
      // -wal would be replayed into the restored database), and link() fails if the name was taken meanwhile.
      if (SIDECARS.some((side) => existsSync(`${target}${side}`))) throw new PhError('PH_BACKUP_PATH_REFUSED', TARGET_REFUSED);
      try {
        linkSync(temp, target);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new PhError('PH_BACKUP_PATH_REFUSED', TARGET_REFUSED);
        throw err;
      }
    }
    fsyncDir(dirname(target));
    report('swap', 1, 1);
  } finally {
    removeImage(temp);
    intent.done();
  }
}

/**
 * The restored file takes the mode and owner of the database it replaces: the program that uses it
 * may run as another account, and a 0600 file of ours would lock it out of its own database. The
 * owner can be given back only by root; otherwise the file stays ours, with the old mode.
 */
function keepOwnerAndMode(temp: string, target: string): void {
  const old = statSync(target);
  chmodSync(temp, old.mode & 0o7777);
  const mine = statSync(temp);
  if (mine.uid === old.uid && mine.gid === old.gid) return;
  try {
    chownSync(temp, old.uid, old.gid);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
  }
}

/**
 * Refuses while another process has the database (or its -wal/-shm/-journal) open: a program still
 * holding the old file would keep writing to it after the swap, and those writes would vanish.
 */
export function assertNotInUse(path: string): void {
  const holders = findOpenHolders(path);
  if (holders === null || holders.length === 0) return;
  const names = holders.slice(0, 5).map((h) => `${h.command} (pid ${h.pid})`);
  throw new PhError('PH_BACKUP_TARGET_IN_USE', `${path} is open in ${names.join(', ')}; stop it and retry, or force the restore`, {
    details: { pids: holders.map((h) => h.pid) },
  });
}

/**
 * Makes an existing database self-contained before it is replaced: rolls back a hot journal, folds
 * the WAL into the main file and truncates it, then leaves WAL mode, which SQLite grants only when
 * no other connection (in any process, this one included) has the WAL open. Refuses otherwise,
 * unless `force`, since a program still writing to the old file would lose its writes after the swap.
 */
export function quiesce(path: string, force = false): void {
  let db: BetterSqlite3.Database | undefined;
  try {
    db = new BetterSqlite3(path, { fileMustExist: true, timeout: 2000 });
    db.prepare('SELECT count(*) FROM sqlite_schema').get();
    const mode = db.pragma('journal_mode', { simple: true });
    if (mode === 'wal') {
      const [row] = db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
      if (row !== undefined && row.busy !== 0 && !force)
        throw new PhError('PH_BACKUP_TARGET_IN_USE', `${path} is in use by another connection; stop it and retry`);
      db.pragma('journal_mode = DELETE');
    }
  } catch (err) {
    if (err instanceof PhError) throw err;
    if (force) return;
    const code = (err as { code?: string }).code ?? '';
    // A target that is not a readable database is simply replaced; one that is locked is in use.
    if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'))
      throw new PhError('PH_BACKUP_TARGET_IN_USE', `${path} is locked by another connection`);
  } finally {
    db?.close();
  }
}
