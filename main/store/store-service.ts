import { join } from 'node:path';
import type { Database } from 'better-sqlite3';
import type { Service, ServiceState } from '../service';
import { openStore } from './database';
import type { Migration } from './migration';
import { DATA_DIR } from '../core';

export const DATABASE_FILE = DATA_DIR.database;

/** The app's own SQLite database as a service: opened (and migrated) first, closed last. */
export class StoreService implements Service {
  readonly name = 'store';
  readonly path: string;
  #db: Database | null = null;
  #state: ServiceState = 'idle';

  constructor(
    dataDir: string,
    private readonly migrations: readonly Migration[],
  ) {
    this.path = join(dataDir, DATABASE_FILE);
  }

  get db(): Database {
    if (this.#db === null) throw new Error('The store is not open');
    return this.#db;
  }

  async start(): Promise<void> {
    this.#state = 'starting';
    try {
      this.#db = openStore({ path: this.path, migrations: this.migrations });
      this.#state = 'running';
    } catch (err) {
      this.#state = 'failed';
      throw err;
    }
  }

  async stop(): Promise<void> {
    if (this.#db === null) return;
    this.#state = 'stopping';
    this.#db.pragma('wal_checkpoint(TRUNCATE)');
    this.#db.close();
    this.#db = null;
    this.#state = 'stopped';
  }

  status(): { state: ServiceState; detail?: string } {
    return this.#state === 'running' ? { state: 'running', detail: this.path } : { state: this.#state };
  }
}
