import type { Database } from 'better-sqlite3';

/** `PRAGMA auto_vacuum` values. */
const INCREMENTAL = 2;

/**
 * The store keeps `auto_vacuum = INCREMENTAL`, so pages freed by retention can be handed back to the
 * file system (`reclaimFreePages`). A new file gets it before its first table; a file made before
 * (auto_vacuum off) is converted once, here, with a VACUUM: SQLite reads the mode only when a file
 * is built, and the VACUUM rebuilds it. Runs outside any transaction, at open, before services start.
 * Returns true when it converted the file.
 */
export function ensureIncrementalVacuum(db: Database): boolean {
  if ((db.pragma('auto_vacuum', { simple: true }) as number) === INCREMENTAL) return false;
  db.pragma('auto_vacuum = INCREMENTAL');
  try {
    db.exec('VACUUM');
  } catch (err) {
    // The rebuild needs about the file's size free: on a full disk the file stays as it was (its
    // freed pages are reused, not returned) and the next start tries again. Starting matters more.
    if (String((err as { code?: unknown }).code ?? '').startsWith('SQLITE_FULL')) return false;
    throw err;
  }
  return true;
}

export interface ReclaimReport {
  /** Free pages handed back to the file system. */
  readonly freedPages: number;
  readonly pageSize: number;
}

const PAGES_PER_STEP = 2048;

/**
 * Hands the database's free pages back to the file system a step at a time (`PRAGMA
 * incremental_vacuum(n)`), yielding to the event loop between steps so requests keep flowing, then
 * checkpoints the WAL with TRUNCATE so the main file shrinks now rather than at the next checkpoint.
 */
export async function reclaimFreePages(
  db: Database,
  options: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {},
): Promise<ReclaimReport> {
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  const freeCount = (): number => db.pragma('freelist_count', { simple: true }) as number;
  const total = freeCount();
  let left = total;
  while (left > 0) {
    options.signal?.throwIfAborted();
    db.pragma(`incremental_vacuum(${PAGES_PER_STEP})`);
    const now = freeCount();
    // Not in incremental mode (a file not yet converted): the pragma frees nothing.
    if (now >= left) break;
    left = now;
    options.onProgress?.(total - left, total);
    await new Promise((resolve) => setImmediate(resolve));
  }
  db.pragma('wal_checkpoint(TRUNCATE)');
  return { freedPages: total - left, pageSize };
}
