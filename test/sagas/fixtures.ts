import { join } from 'node:path';
import type { Database } from 'better-sqlite3';
import { batchMigrations } from '../../main/batch';
import { sagaMigrations } from '../../main/sagas';
import { openStore } from '../../main/store';
import { tempDir } from '../helpers/temp-dir';

/** A real SQLite file with the job queue's and the sagas' tables. */
export function openSagaDb(): { db: Database; path: string; close: () => void } {
  const dir = tempDir('ph-sagas-');
  const path = join(dir.path, 'pilothouse.db');
  const db = openStore({ path, migrations: [...batchMigrations, ...sagaMigrations] });
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
