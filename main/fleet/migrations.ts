import type { Migration } from '../store';

export const fleetMigrations: readonly Migration[] = [
  {
    scope: 'fleet',
    version: 1,
    name: 'replicated records: the version and value (null: deleted) of every record of a fleet-wide table',
    up: `CREATE TABLE fleet_records (
      tbl TEXT NOT NULL,
      id TEXT NOT NULL,
      version TEXT NOT NULL,
      value TEXT,
      PRIMARY KEY (tbl, id)
    ) STRICT, WITHOUT ROWID;`,
  },
  {
    scope: 'fleet',
    version: 2,
    name: 'replicated records: edits not yet in Redis, and how far each table has read the fleet log',
    up: `CREATE TABLE fleet_unshared (
      tbl TEXT NOT NULL,
      id TEXT NOT NULL,
      PRIMARY KEY (tbl, id)
    ) STRICT, WITHOUT ROWID;
    CREATE TABLE fleet_cursors (
      tbl TEXT PRIMARY KEY,
      seq INTEGER NOT NULL
    ) STRICT, WITHOUT ROWID;`,
  },
];
