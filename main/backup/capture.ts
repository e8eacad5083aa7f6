import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import { PhError } from '../../contract/errors';
import type { PageWorkers } from './page-workers';

export interface CaptureOptions {
  /** Give up when the source stays locked this long. Default 5000 ms. */
  readonly busyTimeoutMs?: number;
  /** Pages copied per step while the source is quiet. Default 4096. */
  readonly stepPages?: number;
  readonly onProgress?: (copied: number, total: number) => void;
}

const SQLITE_MAGIC = 'SQLite format 3\0';

/** Throws a clear error unless `path` is an existing regular file that starts like a SQLite database. */
export function assertSqliteFile(path: string): void {
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new PhError('PH_BACKUP_SOURCE_INVALID', `${path} is not a regular file`, { field: 'path' });
    size = st.size;
  } catch (err) {
    if (err instanceof PhError) throw err;
    throw new PhError('PH_BACKUP_SOURCE_INVALID', `${path} does not exist or cannot be read`, { field: 'path' });
  }
  if (size === 0) throw new PhError('PH_BACKUP_SOURCE_INVALID', `${path} is empty: there is no database to back up yet`, { field: 'path' });
  const head = Buffer.alloc(16);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, head, 0, 16, 0);
  } finally {
    closeSync(fd);
  }
  if (head.toString('latin1') !== SQLITE_MAGIC)
    throw new PhError('PH_BACKUP_NOT_SQLITE', `${path} is not a SQLite database`, { field: 'path' });
}

/** Maps SQLite's errors when opening or reading a source to the catalogue. */
export function sourceError(path: string, err: unknown): PhError {
  if (err instanceof PhError) return err;
  const code = (err as { code?: string }).code ?? '';
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new PhError('PH_BACKUP_SOURCE_LOCKED', `${path} stayed locked by another writer`, { cause: err });
  }
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT')
    return new PhError('PH_BACKUP_NOT_SQLITE', `${path} is not a readable SQLite database`, { cause: err });
  return new PhError('PH_BACKUP_SOURCE_INVALID', `${path} cannot be opened as a SQLite database`, { cause: err });
}

/** Opens the source, reads its schema (so a locked or foreign file fails here) and closes it. */
export function probeSource(path: string, busyTimeoutMs = 5000): void {
  assertSqliteFile(path);
  let db: BetterSqlite3.Database | undefined;
  try {
    db = new BetterSqlite3(path, { fileMustExist: true, timeout: busyTimeoutMs });
    db.prepare('SELECT count(*) FROM sqlite_schema').get();
  } catch (err) {
    throw sourceError(path, err);
  } finally {
    db?.close();
  }
}

/**
 * Copies a consistent image of the live database at `sourcePath` into `destPath` with SQLite's
 * online backup API, on a page worker thread, so no step of the copy holds the main thread (and the
 * API, and the Redis client's replies, behind it). It copies `stepPages` pages a step; when another
 * connection writes between steps SQLite restarts the copy, and after one such restart the rest is
 * copied in a single step (a WAL reader, so the source's writers are not blocked by it).
 */
export async function captureImage(
  sourcePath: string,
  destPath: string,
  workers: Pick<PageWorkers, 'capture'>,
  options: CaptureOptions = {},
): Promise<void> {
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
  const stepPages = options.stepPages ?? 4096;
  assertSqliteFile(sourcePath);
  // The image is a plaintext copy of the source: made owner-only before SQLite writes a byte into it
  // (SQLite would create it 0644 under the usual umask, and gives its journal the same mode).
  closeSync(openSync(destPath, 'wx', 0o600));
  options.onProgress?.(0, 1);
  try {
    await untilWritten(sourcePath, destPath, busyTimeoutMs, () => workers.capture(sourcePath, destPath, busyTimeoutMs, stepPages));
  } catch (err) {
    throw sourceError(sourcePath, err);
  }
  options.onProgress?.(1, 1);
}

/**
 * Runs backup passes until one wrote the image. better-sqlite3 resolves a backup whose very first
 * step found the source busy as if it were done (no pages, no file); that is a locked source, so
 * wait and try again until the deadline.
 */
async function untilWritten(
  sourcePath: string,
  destPath: string,
  busyTimeoutMs: number,
  pass: () => Promise<{ sawPages: boolean }>,
): Promise<void> {
  const deadline = Date.now() + busyTimeoutMs;
  for (;;) {
    const { sawPages } = await pass();
    if (existsSync(destPath) && statSync(destPath).size > 0) return;
    if (sawPages) throw new Error('the backup finished without writing an image');
    if (Date.now() > deadline) throw new PhError('PH_BACKUP_SOURCE_LOCKED', `${sourcePath} stayed locked for ${busyTimeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
