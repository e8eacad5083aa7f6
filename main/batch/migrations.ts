import type { Migration } from '../store';

/** Tables of the batch and job engine (scope `batch`). */
export const batchMigrations: readonly Migration[] = [
  {
    scope: 'batch',
    version: 1,
    name: 'batches, outbox, records, jobs',
    up: `
      CREATE TABLE batches (
        id TEXT PRIMARY KEY,
        mode TEXT NOT NULL CHECK (mode IN ('atomic', 'non-atomic')),
        status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'partial')),
        spec TEXT NOT NULL,
        report TEXT,
        created_at INTEGER NOT NULL,
        finished_at INTEGER
      ) STRICT;
      CREATE INDEX batches_status ON batches (status);

      -- Per-operation state of non-atomic batches: a committed row is never re-applied on resume.
      CREATE TABLE batch_ops (
        batch_id TEXT NOT NULL REFERENCES batches (id) ON DELETE CASCADE,
        idx INTEGER NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed', 'skipped')),
        error_code TEXT,
        error TEXT,
        result TEXT,
        PRIMARY KEY (batch_id, idx)
      ) STRICT, WITHOUT ROWID;

      -- after* hooks to deliver, written in the transaction that committed the operations.
      CREATE TABLE batch_outbox (
        id INTEGER PRIMARY KEY,
        batch_id TEXT NOT NULL,
        first_idx INTEGER NOT NULL,
        last_idx INTEGER NOT NULL,
        next_idx INTEGER NOT NULL,
        after_batch INTEGER NOT NULL DEFAULT 0,
        committed INTEGER NOT NULL DEFAULT 0
      ) STRICT;

      -- The built-in resource type "record": small JSON documents in collections.
      CREATE TABLE batch_records (
        collection TEXT NOT NULL,
        id TEXT NOT NULL,
        data TEXT NOT NULL,
        version INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (collection, id)
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE jobs (
        id INTEGER PRIMARY KEY,
        type TEXT NOT NULL,
        payload TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('waiting', 'active', 'waiting-children', 'completed', 'dead', 'cancelled')),
        priority INTEGER NOT NULL DEFAULT 0,
        run_at INTEGER NOT NULL,
        attempts_made INTEGER NOT NULL DEFAULT 0,
        max_attempts INTEGER NOT NULL,
        backoff_ms INTEGER NOT NULL,
        timeout_ms INTEGER,
        idempotency_key TEXT,
        repeat_cron TEXT,
        parent_id INTEGER REFERENCES jobs (id) ON DELETE SET NULL,
        child_policy TEXT NOT NULL DEFAULT 'fail-parent',
        pending_children INTEGER NOT NULL DEFAULT 0,
        lease_owner TEXT,
        lease_until INTEGER,
        cancel_requested INTEGER NOT NULL DEFAULT 0,
        progress REAL NOT NULL DEFAULT 0,
        progress_message TEXT,
        result TEXT,
        last_error TEXT,
        errors TEXT NOT NULL DEFAULT '[]',
        created_at INTEGER NOT NULL,
        started_at INTEGER,
        finished_at INTEGER
      ) STRICT;
      CREATE INDEX jobs_ready ON jobs (state, type, priority DESC, run_at, id);
      CREATE INDEX jobs_lease ON jobs (state, lease_until) WHERE state = 'active';
      CREATE INDEX jobs_parent ON jobs (parent_id) WHERE parent_id IS NOT NULL;
      CREATE INDEX jobs_finished ON jobs (state, finished_at) WHERE finished_at IS NOT NULL;
      CREATE UNIQUE INDEX jobs_idempotency ON jobs (idempotency_key) WHERE idempotency_key IS NOT NULL;

      CREATE TABLE job_logs (
        id INTEGER PRIMARY KEY,
        job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
        at INTEGER NOT NULL,
        message TEXT NOT NULL
      ) STRICT;
      CREATE INDEX job_logs_job ON job_logs (job_id);

      -- Side effects a handler ran through ctx.once(): recorded in the effect's own transaction.
      CREATE TABLE job_effects (
        effect_key TEXT PRIMARY KEY,
        result TEXT,
        at INTEGER NOT NULL
      ) STRICT, WITHOUT ROWID;

      -- Saga compensations, recorded durably as they run.
      CREATE TABLE job_compensations (
        job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
        step TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('done', 'failed')),
        error TEXT,
        at INTEGER NOT NULL,
        PRIMARY KEY (job_id, step)
      ) STRICT;
    `,
  },
  {
    scope: 'batch',
    version: 2,
    name: 'fleet: outbox of enqueued jobs, results of jobs run here',
    up: `
      -- Jobs this node put on the distributed queue, kept until they end: a Redis that comes back
      -- empty gets them again under the same id (docs/fleet.md).
      CREATE TABLE job_outbox (
        id TEXT PRIMARY KEY,
        queue TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('job', 'flow')),
        body TEXT NOT NULL,
        run_at INTEGER NOT NULL,
        enqueued_at INTEGER NOT NULL
      ) STRICT, WITHOUT ROWID;

      -- Jobs that ran to completion on this node: a second run of the same id returns this result.
      CREATE TABLE job_results (
        id TEXT PRIMARY KEY,
        type TEXT NOT NULL,
        result TEXT,
        finished_at INTEGER NOT NULL
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX job_results_finished ON job_results (finished_at);
    `,
  },
  {
    scope: 'batch',
    version: 3,
    name: 'fleet: repeating jobs this node registered',
    up: `
      -- BullMQ keeps a repeating job's schedule only in Redis: the node that registered it keeps it
      -- here too and registers it again when Redis comes back empty (docs/fleet.md).
      CREATE TABLE job_schedules (
        id TEXT PRIMARY KEY,
        queue TEXT NOT NULL,
        body TEXT NOT NULL,
        created_at INTEGER NOT NULL
      ) STRICT, WITHOUT ROWID;
    `,
  },
  {
    scope: 'batch',
    version: 4,
    name: 'jobs: indexes for the paged list (by state, by type, by creation time)',
    up: `
      -- jobs.list pages newest-first by id within a state or a type, and filters by creation time.
      CREATE INDEX jobs_state_id ON jobs (state, id);
      CREATE INDEX jobs_type_id ON jobs (type, id);
      CREATE INDEX jobs_created ON jobs (created_at);
    `,
  },
  {
    scope: 'batch',
    version: 5,
    name: 'jobs: every failed attempt with its stack, a progress timeline, who enqueued it',
    up: `
      -- The console's job detail: each attempt's error and stack (operators only), progress over time.
      CREATE TABLE job_attempts (
        id INTEGER PRIMARY KEY,
        job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
        attempt INTEGER NOT NULL,
        at INTEGER NOT NULL,
        error TEXT NOT NULL,
        stack TEXT
      ) STRICT;
      CREATE INDEX job_attempts_job ON job_attempts (job_id);
      CREATE TABLE job_progress (
        id INTEGER PRIMARY KEY,
        job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
        at INTEGER NOT NULL,
        progress REAL NOT NULL,
        message TEXT
      ) STRICT;
      CREATE INDEX job_progress_job ON job_progress (job_id);
      -- Who enqueued a job (an audit actor), so the console can name the person behind it.
      ALTER TABLE jobs ADD COLUMN created_by TEXT;
    `,
  },
  {
    scope: 'batch',
    version: 6,
    name: 'jobs: ids never handed out twice',
    up: `
      -- SQLite gives a new row the largest id plus one, so the id of a deleted newest job came back,
      -- and a stale reference (a client, an audit row, an event) named another job. The highest id
      -- ever given is kept here and every insert takes the next one.
      CREATE TABLE job_id_high_water (id INTEGER NOT NULL) STRICT;
      INSERT INTO job_id_high_water (id) SELECT coalesce(max(id), 0) FROM jobs;
      CREATE TRIGGER job_id_high_water_up AFTER INSERT ON jobs
        BEGIN UPDATE job_id_high_water SET id = NEW.id WHERE NEW.id > id; END;
    `,
  },
];
