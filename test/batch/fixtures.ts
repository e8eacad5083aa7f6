import { join } from 'node:path';
import type { Database } from 'better-sqlite3';
import { batchMigrations } from '../../main/batch';
import { createLogger } from '../../main/logger';
import { openStore } from '../../main/store';
import { tempDir } from '../helpers/temp-dir';

export const silent = createLogger('silent');

/** A real SQLite file in a temp dir with the batch migrations applied. */
export function openTestDb(): { db: Database; path: string; close: () => void } {
  const dir = tempDir('ph-batch-');
  const path = join(dir.path, 'pilothouse.db');
  const db = openStore({ path, migrations: batchMigrations });
  return {
    db,
    path,
    close: () => {
      if (db.open) db.close();
      dir.remove();
    },
  };
}

/** Polls `check` every 10 ms until it holds or `ms` pass. */
export async function waitFor(check: () => boolean | Promise<boolean>, ms = 5_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
}
