import { join } from 'node:path';
import { monitoringMigrations } from '../../main/monitoring';
import { openStore, type Database } from '../../main/store';
import { tempDir } from '../helpers/temp-dir';

/** A real SQLite file in a temp dir with monitoring's migrations applied. */
export function monitoringDb(): { db: Database; close: () => void } {
  const dir = tempDir('ph-mon-');
  const db = openStore({ path: join(dir.path, 'pilothouse.db'), migrations: monitoringMigrations });
  return {
    db,
    close: () => {
      db.close();
      dir.remove();
    },
  };
}
