import type { Database, Statement } from 'better-sqlite3';
import type { JobRow } from './sqlite-job-row';

/**
 * The SQLite queue's statements that run on every job's way through the queue, prepared once per
 * database. The store and its job-family transitions share them; statements for rarer paths (retry,
 * promote, repairs) are prepared where they are used.
 */
export class JobStatements {
  /** Named parameters, as listed in its VALUES; inserts nothing when the idempotency key is taken. */
  readonly insert: Statement;
  readonly byKey: Statement;
  readonly byId: Statement;
  readonly claim: Statement;
  readonly heartbeat: Statement;
  readonly complete: Statement;
  readonly retryLater: Statement;
  readonly bury: Statement;
  readonly cancelWaiting: Statement;
  readonly cancelActive: Statement;
  readonly release: Statement;
  readonly progress: Statement;
  readonly log: Statement;

  constructor(db: Database) {
    // The id is the next above every id ever given (migration batch 6), never a deleted job's again.
    this.insert = db.prepare(`INSERT INTO jobs (id, type, payload, state, priority, run_at, max_attempts, backoff_ms, timeout_ms,
        idempotency_key, repeat_cron, parent_id, child_policy, pending_children, created_at, created_by)
      VALUES ((SELECT id + 1 FROM job_id_high_water), @type, @payload, @state, @priority, @runAt, @maxAttempts, @backoffMs, @timeoutMs, @key,
        @cron, @parentId, @policy, @pending, @now, @createdBy)
      ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING`);
    this.byKey = db.prepare('SELECT * FROM jobs WHERE idempotency_key = ?');
    this.byId = db.prepare('SELECT * FROM jobs WHERE id = ?');
    this.claim = db.prepare(`UPDATE jobs SET state = 'active', lease_owner = @owner, lease_until = @until,
        attempts_made = attempts_made + 1, started_at = @now, progress = 0, progress_message = NULL
      WHERE id IN (SELECT id FROM jobs WHERE state = 'waiting' AND type = @type AND run_at <= @now
                   ORDER BY priority DESC, run_at, id LIMIT @limit)
      RETURNING *`);
    this.heartbeat = db.prepare("UPDATE jobs SET lease_until = ? WHERE lease_owner = ? AND state = 'active'");
    this.complete = db.prepare(`UPDATE jobs SET state = 'completed', result = ?, progress = 1, finished_at = ?,
        lease_owner = NULL, lease_until = NULL WHERE id = ? AND lease_owner = ? AND state = 'active' RETURNING *`);
    this.retryLater = db.prepare(`UPDATE jobs SET state = 'waiting', run_at = ?, last_error = ?, errors = ?,
        lease_owner = NULL, lease_until = NULL WHERE id = ?`);
    this.bury = db.prepare(`UPDATE jobs SET state = 'dead', last_error = ?, errors = ?, finished_at = ?,
        lease_owner = NULL, lease_until = NULL WHERE id = ?`);
    this.cancelWaiting =
      db.prepare(`UPDATE jobs SET state = 'cancelled', finished_at = ?, cancel_requested = 1, lease_owner = NULL, lease_until = NULL
      WHERE id = ? AND state IN ('waiting', 'waiting-children')`);
    this.cancelActive = db.prepare("UPDATE jobs SET cancel_requested = 1 WHERE id = ? AND state = 'active'");
    this.release = db.prepare(`UPDATE jobs SET state = 'waiting', attempts_made = max(0, attempts_made - 1), lease_owner = NULL,
        lease_until = NULL WHERE id = ? AND lease_owner = ? AND state = 'active'`);
    this.progress = db.prepare("UPDATE jobs SET progress = ?, progress_message = ? WHERE id = ? AND state = 'active'");
    this.log = db.prepare('INSERT INTO job_logs (job_id, at, message) VALUES (?, ?, ?)');
  }

  row(id: number): JobRow | undefined {
    return this.byId.get(id) as JobRow | undefined;
  }
}
