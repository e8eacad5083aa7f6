export { openStore, schemaVersions, PILOTHOUSE_APPLICATION_ID, STORE_FORMAT_VERSION } from './database';
export type { OpenStoreOptions } from './database';
export type { Migration } from './migration';
export type { Database } from 'better-sqlite3';
export { DATABASE_FILE, StoreService } from './store-service';
