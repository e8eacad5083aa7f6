import type { Migration } from '../store';

export const backupMigrations: readonly Migration[] = [
  {
    scope: 'backup',
    version: 1,
    name: 'sources, snapshots, verifications, restores, prunes',
    up: `
      CREATE TABLE backup_sources (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        path TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL CHECK (kind IN ('app', 'file')),
        schedule TEXT,
        retention TEXT NOT NULL DEFAULT '{}',
        continuous_seconds INTEGER,
        created_at INTEGER NOT NULL,
        last_run_at INTEGER,
        last_success_at INTEGER,
        last_failure_at INTEGER,
        last_error TEXT
      ) STRICT;

      CREATE TABLE backup_snapshots (
        id TEXT PRIMARY KEY,
        source_id TEXT NOT NULL,
        captured_at INTEGER NOT NULL,
        trigger TEXT NOT NULL,
        page_size INTEGER NOT NULL,
        page_count INTEGER NOT NULL,
        image_hash TEXT NOT NULL,
        added_pages INTEGER NOT NULL,
        added_bytes INTEGER NOT NULL,
        duration_ms INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX backup_snapshots_by_source ON backup_snapshots (source_id, captured_at);

      CREATE TABLE backup_verifications (
        id INTEGER PRIMARY KEY,
        snapshot_id TEXT NOT NULL,
        source_id TEXT NOT NULL,
        at INTEGER NOT NULL,
        ok INTEGER NOT NULL,
        pages_checked INTEGER NOT NULL,
        bad_pages TEXT NOT NULL,
        image_hash_ok INTEGER NOT NULL,
        integrity TEXT NOT NULL,
        duration_ms INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE backup_restores (
        id INTEGER PRIMARY KEY,
        snapshot_id TEXT NOT NULL,
        source_id TEXT NOT NULL,
        target TEXT NOT NULL,
        in_place INTEGER NOT NULL,
        safety_snapshot_id TEXT,
        at INTEGER NOT NULL,
        ok INTEGER NOT NULL,
        error TEXT,
        duration_ms INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE backup_prunes (
        id INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        removed_snapshots INTEGER NOT NULL,
        removed_pages INTEGER NOT NULL,
        freed_bytes INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    scope: 'backup',
    version: 2,
    name: 'replicas of the repository (their credentials live in files, never here)',
    up: `
      CREATE TABLE backup_replicas (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL CHECK (kind IN ('folder', 's3', 'sftp')),
        target TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        state TEXT NOT NULL DEFAULT 'new',
        last_sync_at INTEGER,
        last_error TEXT,
        last_verified_at INTEGER,
        last_verify_ok INTEGER,
        last_verify_detail TEXT,
        lag_snapshots INTEGER NOT NULL DEFAULT 0,
        lag_bytes INTEGER NOT NULL DEFAULT 0,
        bytes_sent INTEGER NOT NULL DEFAULT 0
      ) STRICT;
    `,
  },
  {
    scope: 'backup',
    version: 3,
    name: 'snapshots an operator cancelled, with how far they had come',
    up: `
      CREATE TABLE backup_cancels (
        id INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        source_id TEXT NOT NULL,
        by TEXT NOT NULL,
        phase TEXT NOT NULL,
        done INTEGER NOT NULL,
        total INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    scope: 'backup',
    version: 4,
    name: 'replicas on another node of the fleet (kind peer)',
    // SQLite cannot change a CHECK in place: the table is rebuilt with its rows.
    up: `
      CREATE TABLE backup_replicas_next (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL CHECK (kind IN ('folder', 's3', 'sftp', 'peer')),
        target TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        state TEXT NOT NULL DEFAULT 'new',
        last_sync_at INTEGER,
        last_error TEXT,
        last_verified_at INTEGER,
        last_verify_ok INTEGER,
        last_verify_detail TEXT,
        lag_snapshots INTEGER NOT NULL DEFAULT 0,
        lag_bytes INTEGER NOT NULL DEFAULT 0,
        bytes_sent INTEGER NOT NULL DEFAULT 0
      ) STRICT;
      INSERT INTO backup_replicas_next SELECT * FROM backup_replicas;
      DROP TABLE backup_replicas;
      ALTER TABLE backup_replicas_next RENAME TO backup_replicas;
    `,
  },
];
