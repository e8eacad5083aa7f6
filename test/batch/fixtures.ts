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

export { until as waitFor } from '../helpers/until';
