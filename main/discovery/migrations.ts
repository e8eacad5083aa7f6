import type { Migration } from '../store';

export const discoveryMigrations: readonly Migration[] = [
  {
    scope: 'discovery',
    version: 1,
    name: 'service registry, check state and history, change log, service policies',
    up: `
      CREATE TABLE discovery_instances (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        address TEXT NOT NULL,
        port INTEGER NOT NULL,
        tags TEXT NOT NULL DEFAULT '[]',
        meta TEXT NOT NULL DEFAULT '{}',
        version TEXT,
        weight INTEGER NOT NULL DEFAULT 1,
        checks TEXT NOT NULL DEFAULT '[]',
        maintenance_reason TEXT,
        maintenance_since TEXT,
        registered_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        last_heartbeat_at TEXT
      ) STRICT;
      CREATE INDEX discovery_instances_name ON discovery_instances (name);

      CREATE TABLE discovery_check_state (
        instance_id TEXT NOT NULL REFERENCES discovery_instances (id) ON DELETE CASCADE,
        check_id TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('passing', 'warning', 'critical')),
        output TEXT NOT NULL,
        checked_at TEXT,
        changed_at TEXT NOT NULL,
        critical_since TEXT,
        PRIMARY KEY (instance_id, check_id)
      ) STRICT;

      CREATE TABLE discovery_check_history (
        seq INTEGER PRIMARY KEY,
        instance_id TEXT NOT NULL REFERENCES discovery_instances (id) ON DELETE CASCADE,
        check_id TEXT NOT NULL,
        at TEXT NOT NULL,
        status TEXT NOT NULL,
        output TEXT NOT NULL
      ) STRICT;
      CREATE INDEX discovery_check_history_check ON discovery_check_history (instance_id, check_id, seq);

      CREATE TABLE discovery_changes (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        service TEXT NOT NULL,
        instance_id TEXT NOT NULL,
        detail TEXT
      ) STRICT;

      CREATE TABLE discovery_services (
        name TEXT PRIMARY KEY,
        strategy TEXT NOT NULL,
        hash_header TEXT,
        outlier TEXT NOT NULL,
        updated_at TEXT NOT NULL
      ) STRICT;
    `,
  },
];
