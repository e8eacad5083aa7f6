import type { Database } from 'better-sqlite3';

/**
 * A numbered schema change owned by one capability (its `scope`). Each capability numbers its own
 * migrations from 1, so capabilities never contend for numbers; the store records the highest
 * version applied per scope.
 */
export interface Migration {
  readonly scope: string;
  readonly version: number;
  readonly name: string;
  readonly up: string | ((db: Database) => void);
}
