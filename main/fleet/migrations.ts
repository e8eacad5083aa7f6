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
];
