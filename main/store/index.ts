export { openStore, schemaVersions } from './database';
export type { Migration } from './migration';
export type { Database } from 'better-sqlite3';
export { DATABASE_FILE, StoreService } from './store-service';
export { ensureIncrementalVacuum, reclaimFreePages, type ReclaimReport } from './vacuum';
export { StatementCache } from './statement-cache';
export { DataDirLock } from './data-dir-lock';
