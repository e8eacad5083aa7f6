import { closeSync, openSync, readSync, statSync } from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import { PhError } from '../../contract/errors';

const WAL_HEADER_BYTES = 32;
const FRAME_HEADER_BYTES = 24;
const WAL_MAGICS = new Set([0x377f0682, 0x377f0683]);

/** What the committed frames of a WAL file need from its database file. */
export interface WalNeeds {
  readonly pageSize: number;
  readonly committedFrames: number;
  /** Pages the last commit says the database has. */
  readonly databasePages: number;
  /** Bytes the main file must hold: up to the highest page of the database the WAL does not carry. */
  readonly mainFileBytes: number;
}

/**
 * Reads the frame headers of a WAL (https://sqlite.org/fileformat.html#the_write_ahead_log) and
 * says what its committed transactions need of the main file; null when there is no WAL or it
 * holds nothing committed. Frames of an older generation (other salts) and an uncommitted tail do
 * not count, as SQLite's own recovery ignores them.
 */
export function walNeeds(walPath: string): WalNeeds | null {
  let fd: number;
  try {
    fd = openSync(walPath, 'r');
  } catch {
    return null;
  }
  try {
    const size = statSync(walPath).size;
    if (size < WAL_HEADER_BYTES) return null;
    const header = Buffer.alloc(WAL_HEADER_BYTES);
    readSync(fd, header, 0, WAL_HEADER_BYTES, 0);
    if (!WAL_MAGICS.has(header.readUInt32BE(0))) return null;
    const pageSize = header.readUInt32BE(8) === 1 ? 65536 : header.readUInt32BE(8);
    if (pageSize < 512 || (pageSize & (pageSize - 1)) !== 0) return null;
    const salt1 = header.readUInt32BE(16);
    const salt2 = header.readUInt32BE(20);
    const frame = Buffer.alloc(FRAME_HEADER_BYTES);
    const inWal = new Set<number>();
    const pending: number[] = [];
    let committedFrames = 0;
    let databasePages = 0;
    for (let at = WAL_HEADER_BYTES; at + FRAME_HEADER_BYTES + pageSize <= size; at += FRAME_HEADER_BYTES + pageSize) {
      readSync(fd, frame, 0, FRAME_HEADER_BYTES, at);
      if (frame.readUInt32BE(8) !== salt1 || frame.readUInt32BE(12) !== salt2) break;
      pending.push(frame.readUInt32BE(0));
      const commitSize = frame.readUInt32BE(4);
      if (commitSize !== 0) {
        for (const page of pending) inWal.add(page);
        committedFrames += pending.length;
        pending.length = 0;
        databasePages = commitSize;
      }
    }
    if (committedFrames === 0) return null;
    let highestOutside = databasePages;
    while (highestOutside > 0 && inWal.has(highestOutside)) highestOutside -= 1;
    return { pageSize, committedFrames, databasePages, mainFileBytes: highestOutside * pageSize };
  } finally {
    closeSync(fd);
  }
}

/**
 * Whether SQLite reads every page of the database and its WAL without damage. Called only when the
 * main file is shorter than the frame headers suggest, which is not proof of loss: a page freed in the
 * transaction that allocated it is never written anywhere (SQLite skips writing freelist leaves), so
 * the database may end with pages no file holds. Opened read-only, so the WAL is neither
 * checkpointed nor deleted whatever the answer.
 */
function readsWhole(dbPath: string): boolean {
  let db: BetterSqlite3.Database | null = null;
  try {
    db = new BetterSqlite3(dbPath, { readonly: true, fileMustExist: true });
    return db.pragma('quick_check', { simple: true }) === 'ok';
  } catch {
    return false;
  } finally {
    db?.close();
  }
}

/**
 * Refuses to open a database whose main file is missing, empty or shorter than its WAL needs. SQLite
 * takes a zero-length main file for a new database and deletes the WAL beside it, which after a
 * crash on some filesystems is the only copy of the data; a short one is refused only if SQLite cannot read it whole. Either way
 * nothing is initialised over the WAL: an operator decides (restore from a backup, or move both aside).
 */
export function assertWalHasItsDatabase(dbPath: string): void {
  const walPath = `${dbPath}-wal`;
  const needs = walNeeds(walPath);
  if (needs === null) return;
  let mainBytes = 0;
  try {
    mainBytes = statSync(dbPath).size;
  } catch {
    mainBytes = 0;
  }
  if (mainBytes > 0 && (mainBytes >= needs.mainFileBytes || readsWhole(dbPath))) return;
  throw new PhError(
    'PH_STORE_WAL_WITHOUT_DATABASE',
    `${dbPath} is ${mainBytes} bytes but ${walPath} holds ${needs.committedFrames} committed frames of a ${needs.databasePages}-page database ` +
      `that need at least ${Math.max(needs.mainFileBytes, needs.pageSize)} bytes of it; nothing was changed. Restore ${dbPath} from a backup, ` +
      'or move both files aside to start empty',
    { details: { database: dbPath, wal: walPath, databaseBytes: mainBytes, neededBytes: Math.max(needs.mainFileBytes, needs.pageSize) } },
  );
}
