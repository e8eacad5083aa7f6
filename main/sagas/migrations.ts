import type { Migration } from '../store';

/** The sagas and their steps (scope `sagas`): the runner's durable state, read back after a crash. */
export const sagaMigrations: readonly Migration[] = [
  {
    scope: 'sagas',
    version: 1,
    name: 'sagas and their steps',
    up: `
      CREATE TABLE sagas (
        id TEXT PRIMARY KEY,
        type TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('running', 'compensating', 'completed', 'compensated', 'cancelled', 'stuck')),
        input TEXT,
        failure TEXT,
        cancel_requested INTEGER NOT NULL DEFAULT 0,
        idempotency_key TEXT UNIQUE,
        job_id TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        finished_at INTEGER
      ) STRICT;
      CREATE INDEX sagas_created ON sagas (created_at DESC);

      CREATE TABLE saga_steps (
        saga_id TEXT NOT NULL REFERENCES sagas (id) ON DELETE CASCADE,
        idx INTEGER NOT NULL,
        name TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'running', 'done', 'failed', 'compensating', 'compensated', 'stuck')),
        attempts INTEGER NOT NULL DEFAULT 0,
        compensation_attempts INTEGER NOT NULL DEFAULT 0,
        result TEXT,
        errors TEXT NOT NULL DEFAULT '[]',
        started_at INTEGER,
        finished_at INTEGER,
        compensated_at INTEGER,
        PRIMARY KEY (saga_id, idx)
      ) STRICT, WITHOUT ROWID;
    `,
  },
  {
    scope: 'sagas',
    version: 2,
    name: 'local copies of fleet sagas',
    // With Redis, each saga this node wrote, as it last wrote it: read when Redis is away, re-published when it comes back empty.
    up: `
      CREATE TABLE saga_copies (
        id TEXT PRIMARY KEY,
        rev INTEGER NOT NULL,
        doc TEXT NOT NULL,
        ended INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX saga_copies_ended ON saga_copies (ended, updated_at);
    `,
  },
];
