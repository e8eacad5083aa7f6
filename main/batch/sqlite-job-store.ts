/**
 * The SQLite job queue's state machine: every transition (enqueue, claim, complete, fail, cancel,
 * children, repeats, prune) as statements inside one transaction each. Over ~450 lines because the
 * transitions share the row invariants (state, owner, lease, parent counts) and must be read together
 * to see that each one keeps them.
 */
import type { Database, Statement } from 'better-sqlite3';
import { Cron } from 'croner';
import { PhError } from '../../contract/errors';
import { backoffDelay } from './backoff';
import { SqliteJobTrail } from './job-attempts';
import { pruneJobHistory, type PrunePolicy } from './job-history';
import { listJobRows, type JobRowPage } from './sqlite-job-list';
import type { ChildPolicy, ChildSpec, JobFilter, JobInfo, JobLog, JobSpec, JobState } from './job-types';

export interface JobRow {
  id: number;
  type: string;
  payload: string;
  state: Exclude<JobState, 'delayed'>;
  priority: number;
  run_at: number;
  attempts_made: number;
  max_attempts: number;
  backoff_ms: number;
  timeout_ms: number | null;
  idempotency_key: string | null;
  repeat_cron: string | null;
  parent_id: number | null;
  child_policy: ChildPolicy;
  pending_children: number;
  lease_owner: string | null;
  lease_until: number | null;
  cancel_requested: number;
  progress: number;
  progress_message: string | null;
  result: string | null;
  last_error: string | null;
  errors: string;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  created_by: string | null;
}

/** A change the store made that the queue should publish (and act on, for local running jobs). */
export interface Transition {
  readonly id: number;
  readonly type: string;
  readonly state: Exclude<JobState, 'delayed'>;
  /** Set when an active job should be stopped (its parent failed or was cancelled). */
  readonly abort?: boolean;
}

export const DEFAULT_ATTEMPTS = 3;
export const DEFAULT_BACKOFF_MS = 1000;
const MAX_ERRORS_KEPT = 10;

/**
 * Every SQL statement of the durable queue, synchronous and each in one transaction, so a crash at
 * any point leaves a job in exactly one state. The queue (`SqliteJobQueue`) adds the timers, the
 * workers and the events around it.
 */
export class SqliteJobStore {
  readonly #insert: Statement;
  readonly #byKey: Statement;
  readonly #byId: Statement;
  readonly #claim: Statement;
  readonly #heartbeat: Statement;
  readonly #complete: Statement;
  readonly #retryLater: Statement;
  readonly #bury: Statement;
  readonly #cancelWaiting: Statement;
  readonly #cancelActive: Statement;
  readonly #release: Statement;
  readonly #progress: Statement;
  readonly #log: Statement;
  readonly trail: SqliteJobTrail;

  constructor(
    readonly db: Database,
    private readonly random: () => number = Math.random,
  ) {
    this.#insert = db.prepare(`INSERT INTO jobs (type, payload, state, priority, run_at, max_attempts, backoff_ms, timeout_ms,
        idempotency_key, repeat_cron, parent_id, child_policy, pending_children, created_at, created_by)
      VALUES (@type, @payload, @state, @priority, @runAt, @maxAttempts, @backoffMs, @timeoutMs, @key, @cron, @parentId, @policy, @pending, @now,
        @createdBy)
      ON CONFLICT (idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING`);
    this.#byKey = db.prepare('SELECT * FROM jobs WHERE idempotency_key = ?');
    this.#byId = db.prepare('SELECT * FROM jobs WHERE id = ?');
    this.#claim = db.prepare(`UPDATE jobs SET state = 'active', lease_owner = @owner, lease_until = @until,
        attempts_made = attempts_made + 1, started_at = @now, progress = 0, progress_message = NULL
      WHERE id IN (SELECT id FROM jobs WHERE state = 'waiting' AND type = @type AND run_at <= @now
                   ORDER BY priority DESC, run_at, id LIMIT @limit)
      RETURNING *`);
    this.#heartbeat = db.prepare("UPDATE jobs SET lease_until = ? WHERE lease_owner = ? AND state = 'active'");
    this.#complete = db.prepare(`UPDATE jobs SET state = 'completed', result = ?, progress = 1, finished_at = ?,
        lease_owner = NULL, lease_until = NULL WHERE id = ? AND lease_owner = ? AND state = 'active' RETURNING *`);
    this.#retryLater = db.prepare(`UPDATE jobs SET state = 'waiting', run_at = ?, last_error = ?, errors = ?,
        lease_owner = NULL, lease_until = NULL WHERE id = ?`);
    this.#bury = db.prepare(`UPDATE jobs SET state = 'dead', last_error = ?, errors = ?, finished_at = ?,
        lease_owner = NULL, lease_until = NULL WHERE id = ?`);
    this.#cancelWaiting =
      db.prepare(`UPDATE jobs SET state = 'cancelled', finished_at = ?, cancel_requested = 1, lease_owner = NULL, lease_until = NULL
      WHERE id = ? AND state IN ('waiting', 'waiting-children')`);
    this.#cancelActive = db.prepare("UPDATE jobs SET cancel_requested = 1 WHERE id = ? AND state = 'active'");
    this.#release = db.prepare(`UPDATE jobs SET state = 'waiting', attempts_made = max(0, attempts_made - 1), lease_owner = NULL,
        lease_until = NULL WHERE id = ? AND lease_owner = ? AND state = 'active'`);
    this.#progress = db.prepare("UPDATE jobs SET progress = ?, progress_message = ? WHERE id = ? AND state = 'active'");
    this.#log = db.prepare('INSERT INTO job_logs (job_id, at, message) VALUES (?, ?, ?)');
    this.trail = new SqliteJobTrail(db);
  }

  row(id: number): JobRow | undefined {
    return this.#byId.get(id) as JobRow | undefined;
  }

  mustRow(id: string): JobRow {
    const n = Number(id);
    const row = Number.isSafeInteger(n) && n > 0 ? this.row(n) : undefined;
    if (row === undefined) throw new PhError('PH_BATCH_JOB_NOT_FOUND', `There is no job ${id}`);
    return row;
  }

  /** Inserts a job (and its children, depth first); returns the existing job when the key was taken. */
  enqueue(spec: JobSpec, now: number, parent?: { id: number; policy: ChildPolicy }): { row: JobRow; created: boolean } {
    const { row, created } = this.db.transaction(() => this.#insertTree(spec, now, parent))();
    return { row: row as JobRow, created };
  }

  enqueueBulk(specs: readonly JobSpec[], now: number): number[] {
    return this.db.transaction(() => specs.map((s) => this.#insertTree(s, now, undefined, false).id))();
  }

  /** `wantRow: false` (bulk) skips reading the inserted row back. */
  #insertTree(
    spec: JobSpec,
    now: number,
    parent: { id: number; policy: ChildPolicy } | undefined,
    wantRow = true,
  ): { row: JobRow | null; id: number; created: boolean } {
    const children = spec.children ?? [];
    let runAt = spec.runAt ?? now + (spec.delayMs ?? 0);
    let key = spec.idempotencyKey ?? null;
    if (spec.repeat !== undefined) {
      runAt = nextCronRun(spec.repeat.cron, Math.max(now, runAt - 1));
      key = `${key ?? `repeat:${spec.type}:${spec.repeat.cron}`}@${runAt}`;
    }
    const info = this.#insert.run({
      type: spec.type,
      payload: JSON.stringify(spec.payload ?? null),
      state: children.length > 0 ? 'waiting-children' : 'waiting',
      priority: spec.priority ?? 0,
      runAt,
      maxAttempts: spec.attempts ?? DEFAULT_ATTEMPTS,
      backoffMs: spec.backoffMs ?? DEFAULT_BACKOFF_MS,
      timeoutMs: spec.timeoutMs ?? null,
      key,
      cron: spec.repeat?.cron ?? null,
      parentId: parent?.id ?? null,
      policy: parent?.policy ?? 'fail-parent',
      pending: children.length,
      now,
      createdBy: spec.createdBy ?? null,
    });
    if (info.changes === 0) {
      const existing = this.#byKey.get(key) as JobRow;
      return { row: existing, id: existing.id, created: false };
    }
    const id = Number(info.lastInsertRowid);
    let pending = children.length;
    for (const child of children as readonly ChildSpec[]) {
      // A child that already existed (same idempotency key) does not hold the parent back.
      const inherited = { ...child, createdBy: child.createdBy ?? spec.createdBy };
      if (!this.#insertTree(inherited, now, { id, policy: child.policy ?? 'fail-parent' }).created) pending -= 1;
    }
    if (pending !== children.length) {
      this.db
        .prepare("UPDATE jobs SET pending_children = ?, state = CASE WHEN ? = 0 THEN 'waiting' ELSE state END WHERE id = ?")
        .run(pending, pending, id);
    }
    return { row: wantRow ? (this.row(id) as JobRow) : null, id, created: true };
  }

  /** Claims up to `limit` due jobs of one type for `owner`, highest priority first. */
  claim(type: string, limit: number, owner: string, now: number, leaseMs: number): JobRow[] {
    const rows = this.#claim.all({ type, limit, owner, now, until: now + leaseMs }) as JobRow[];
    return rows.sort((a, b) => b.priority - a.priority || a.run_at - b.run_at || a.id - b.id);
  }

  heartbeat(owner: string, now: number, leaseMs: number): void {
    this.#heartbeat.run(now + leaseMs, owner);
  }

  /** Ids of the jobs `owner` runs that someone asked to cancel (from another process or a failed parent). */
  cancelRequested(owner: string): number[] {
    return (
      this.db.prepare("SELECT id FROM jobs WHERE lease_owner = ? AND state = 'active' AND cancel_requested = 1").all(owner) as {
        id: number;
      }[]
    ).map((r) => r.id);
  }

  /** Puts jobs whose worker stopped heart-beating back in line (or in the dead letters when out of attempts). */
  reclaimExpired(now: number): Transition[] {
    return this.db.transaction(() => {
      const expired = this.db.prepare("SELECT * FROM jobs WHERE state = 'active' AND lease_until < ?").all(now) as JobRow[];
      const out: Transition[] = [];
      for (const row of expired) out.push(...this.#failRow(row, `worker ${row.lease_owner ?? '?'} stopped (lease expired)`, now, false));
      return out;
    })();
  }

  complete(id: number, owner: string, result: unknown, now: number): Transition[] | null {
    return this.db.transaction(() => this.#completeRow(id, owner, result, now))();
  }

  /** Records many completions in one transaction (the worker batches those of one event-loop turn). */
  completeMany(done: readonly { id: number; result: unknown }[], owner: string, now: number): (Transition[] | null)[] {
    return this.db.transaction(() => done.map((d) => this.#completeRow(d.id, owner, d.result, now)))();
  }

  #completeRow(id: number, owner: string, result: unknown, now: number): Transition[] | null {
    const row = this.#complete.get(result === undefined ? null : JSON.stringify(result), now, id, owner) as JobRow | undefined;
    if (row === undefined) return null;
    const out: Transition[] = [{ id, type: row.type, state: 'completed' }];
    if (row.parent_id !== null) out.push(...this.#childEnded(row.parent_id, id, true, row.child_policy, null, now));
    // A run cancelled while it finished anyway still ends its series, as a cancel does.
    if (row.repeat_cron !== null && row.cancel_requested === 0) this.#scheduleNext(row, now);
    return out;
  }

  /** A failed attempt: back in line after a backoff, or dead when out of attempts (or `final`). */
  fail(id: number, owner: string, message: string, now: number, final: boolean, stack: string | null = null): Transition[] | null {
    return this.db.transaction(() => {
      const row = this.row(id);
      if (row === undefined || row.state !== 'active' || row.lease_owner !== owner) return null;
      return this.#failRow(row, message, now, final, stack);
    })();
  }

  #failRow(row: JobRow, message: string, now: number, final: boolean, stack: string | null = null): Transition[] {
    this.trail.recordAttempt(row.id, row.attempts_made, now, message, stack);
    const errors = (JSON.parse(row.errors) as string[]).concat(`attempt ${row.attempts_made}: ${message}`).slice(-MAX_ERRORS_KEPT);
    if (!final && row.attempts_made < row.max_attempts && row.cancel_requested === 0) {
      this.#retryLater.run(now + backoffDelay(row.backoff_ms, row.attempts_made, this.random), message, JSON.stringify(errors), row.id);
      return [{ id: row.id, type: row.type, state: 'waiting' }];
    }
    this.#bury.run(message, JSON.stringify(errors), now, row.id);
    const out: Transition[] = [{ id: row.id, type: row.type, state: 'dead' }];
    if (row.parent_id !== null) out.push(...this.#childEnded(row.parent_id, row.id, false, row.child_policy, message, now));
    if (row.repeat_cron !== null && row.cancel_requested === 0) this.#scheduleNext(row, now);
    return out;
  }

  /** The running job stopped because it was cancelled. */
  markCancelled(id: number, now: number): Transition[] {
    return this.db.transaction(() => {
      const row = this.row(id);
      if (row === undefined || (row.state !== 'active' && row.state !== 'waiting' && row.state !== 'waiting-children')) return [];
      this.db
        .prepare(
          "UPDATE jobs SET state = 'cancelled', cancel_requested = 1, finished_at = ?, lease_owner = NULL, lease_until = NULL WHERE id = ?",
        )
        .run(now, id);
      return this.#afterCancel(row, now);
    })();
  }

  /**
   * Cancels a job: one not running yet is cancelled at once; a running one is flagged (the queue
   * aborts it if it runs here; another process sees the flag on its next poll). Children of a
   * cancelled parent are cancelled too.
   */
  cancel(id: string, now: number): { transitions: Transition[]; running: boolean } {
    return this.db.transaction(() => {
      const row = this.mustRow(id);
      if (row.state === 'active') {
        this.#cancelActive.run(row.id);
        return { transitions: [], running: true };
      }
      if (row.state !== 'waiting' && row.state !== 'waiting-children') {
        throw new PhError('PH_BATCH_JOB_NOT_CANCELLABLE', `Job ${id} is ${row.state}; only waiting and running jobs can be cancelled`);
      }
      this.#cancelWaiting.run(now, row.id);
      return { transitions: this.#afterCancel(row, now), running: false };
    })();
  }

  #afterCancel(row: JobRow, now: number): Transition[] {
    const out: Transition[] = [{ id: row.id, type: row.type, state: 'cancelled' }];
    out.push(...this.#stopChildren(row.id, now));
    if (row.parent_id !== null) out.push(...this.#childEnded(row.parent_id, row.id, false, row.child_policy, 'cancelled', now));
    return out;
  }

  /** Cancels the children that have not ended: waiting ones at once, running ones flagged for abort. */
  #stopChildren(parentId: number, now: number): Transition[] {
    const out: Transition[] = [];
    const children = this.db
      .prepare("SELECT * FROM jobs WHERE parent_id = ? AND state IN ('waiting', 'waiting-children', 'active')")
      .all(parentId) as JobRow[];
    for (const child of children) {
      if (child.state === 'active') {
        this.#cancelActive.run(child.id);
        out.push({ id: child.id, type: child.type, state: 'active', abort: true });
      } else {
        this.#cancelWaiting.run(now, child.id);
        out.push({ id: child.id, type: child.type, state: 'cancelled' });
        out.push(...this.#stopChildren(child.id, now));
      }
    }
    return out;
  }

  /** A child ended: the parent moves on by the child's policy, so it can never wait forever. */
  #childEnded(parentId: number, childId: number, ok: boolean, policy: ChildPolicy, error: string | null, now: number): Transition[] {
    const parent = this.row(parentId);
    if (parent === undefined || parent.state !== 'waiting-children') return [];
    const pending = Math.max(0, parent.pending_children - 1);
    if (!ok && policy === 'fail-parent') {
      const message = `child ${childId} failed: ${error ?? 'unknown error'}`;
      const errors = (JSON.parse(parent.errors) as string[]).concat(message).slice(-MAX_ERRORS_KEPT);
      this.db.prepare('UPDATE jobs SET pending_children = ? WHERE id = ?').run(pending, parentId);
      this.#bury.run(message, JSON.stringify(errors), now, parentId);
      const out: Transition[] = [{ id: parentId, type: parent.type, state: 'dead' }];
      out.push(...this.#stopChildren(parentId, now));
      if (parent.parent_id !== null) out.push(...this.#childEnded(parent.parent_id, parentId, false, parent.child_policy, message, now));
      return out;
    }
    const release = pending === 0 || (!ok && policy === 'continue-parent');
    this.db
      .prepare(`UPDATE jobs SET pending_children = ?, state = ?, run_at = max(run_at, ?) WHERE id = ?`)
      .run(pending, release ? 'waiting' : 'waiting-children', now, parentId);
    return release ? [{ id: parentId, type: parent.type, state: 'waiting' }] : [];
  }

  /**
   * Repairs parents left in waiting-children with no child still to end (a child deleted, or rows
   * from before a crash), so no parent waits forever.
   */
  reconcileParents(now: number): Transition[] {
    return this.db.transaction(() => {
      const stuck = this.db
        .prepare(
          `SELECT p.* FROM jobs p WHERE p.state = 'waiting-children' AND NOT EXISTS (
            SELECT 1 FROM jobs c WHERE c.parent_id = p.id AND c.state IN ('waiting', 'active', 'waiting-children'))`,
        )
        .all() as JobRow[];
      const out: Transition[] = [];
      for (const parent of stuck) {
        const failed = this.db
          .prepare(
            "SELECT id, last_error, child_policy FROM jobs WHERE parent_id = ? AND state IN ('dead', 'cancelled') AND child_policy = 'fail-parent' LIMIT 1",
          )
          .get(parent.id) as { id: number; last_error: string | null } | undefined;
        if (failed !== undefined) {
          this.db.prepare('UPDATE jobs SET pending_children = 1 WHERE id = ?').run(parent.id);
          out.push(...this.#childEnded(parent.id, failed.id, false, 'fail-parent', failed.last_error ?? 'cancelled', now));
        } else {
          this.db
            .prepare("UPDATE jobs SET pending_children = 0, state = 'waiting', run_at = max(run_at, ?) WHERE id = ?")
            .run(now, parent.id);
          out.push({ id: parent.id, type: parent.type, state: 'waiting' });
        }
      }
      return out;
    })();
  }

  #scheduleNext(row: JobRow, now: number): void {
    const cron = row.repeat_cron as string;
    const runAt = nextCronRun(cron, Math.max(now, row.run_at));
    const base = (row.idempotency_key ?? `repeat:${row.type}:${cron}`).replace(/@\d+$/, '');
    this.#insert.run({
      type: row.type,
      payload: row.payload,
      state: 'waiting',
      priority: row.priority,
      runAt,
      maxAttempts: row.max_attempts,
      backoffMs: row.backoff_ms,
      timeoutMs: row.timeout_ms,
      key: `${base}@${runAt}`,
      cron,
      parentId: null,
      policy: 'fail-parent',
      pending: 0,
      now,
      createdBy: row.created_by,
    });
  }

  /** A graceful stop hands the job back without spending an attempt. */
  release(id: number, owner: string): boolean {
    return this.#release.run(id, owner).changes > 0;
  }

  retry(id: string, now: number): JobRow {
    return this.db.transaction(() => {
      const row = this.mustRow(id);
      if (row.state !== 'dead' && row.state !== 'cancelled') {
        throw new PhError('PH_BATCH_JOB_NOT_RETRYABLE', `Job ${id} is ${row.state}; only dead and cancelled jobs can be retried`);
      }
      this.db
        .prepare(
          `UPDATE jobs SET state = 'waiting', run_at = ?, attempts_made = 0, cancel_requested = 0, finished_at = NULL,
            progress = 0, progress_message = NULL, errors = ? WHERE id = ?`,
        )
        .run(now, JSON.stringify((JSON.parse(row.errors) as string[]).concat('retried: attempts reset').slice(-MAX_ERRORS_KEPT)), row.id);
      return this.row(row.id) as JobRow;
    })();
  }

  remove(id: string, now: number): Transition[] {
    return this.db.transaction(() => {
      const row = this.mustRow(id);
      if (row.state === 'active') throw new PhError('PH_BATCH_JOB_RUNNING', `Job ${id} is running; cancel it first`);
      const out: Transition[] = [];
      if (row.parent_id !== null && (row.state === 'waiting' || row.state === 'waiting-children')) {
        out.push(...this.#childEnded(row.parent_id, row.id, false, row.child_policy, 'deleted', now));
      }
      out.push(...this.#stopChildren(row.id, now));
      this.db.prepare('DELETE FROM jobs WHERE id = ?').run(row.id);
      return out;
    })();
  }

  progress(id: number, fraction: number, message: string | null, now: number): void {
    if (this.#progress.run(fraction, message, id).changes > 0) this.trail.progress(id, now, fraction, message);
  }

  /** Runs a delayed job now: it keeps its priority and its place among the jobs due. */
  promote(id: string, now: number): JobRow {
    return this.db.transaction(() => {
      const row = this.mustRow(id);
      if (row.state !== 'waiting' || row.run_at <= now)
        throw new PhError('PH_BATCH_JOB_NOT_DELAYED', `Job ${id} is ${toJobInfo(row, now).state}; only a delayed job can be promoted`);
      this.db.prepare('UPDATE jobs SET run_at = ? WHERE id = ?').run(now, row.id);
      return this.row(row.id) as JobRow;
    })();
  }

  log(id: number, message: string, now: number): void {
    this.#log.run(id, now, message);
  }

  logs(id: string): JobLog[] {
    const row = this.mustRow(id);
    return (
      this.db.prepare('SELECT at, message FROM job_logs WHERE job_id = ? ORDER BY id LIMIT 500').all(row.id) as {
        at: number;
        message: string;
      }[]
    ).map((l) => ({
      at: new Date(l.at).toISOString(),
      message: l.message,
    }));
  }

  list(filter: JobFilter, now: number): JobRowPage {
    return listJobRows(this.db, filter, now);
  }

  counts(now: number): Map<string, Record<JobState, number>> {
    const rows = this.db
      .prepare(
        `SELECT type, CASE WHEN state = 'waiting' AND run_at > ? THEN 'delayed' ELSE state END AS s, count(*) AS n FROM jobs GROUP BY type, s`,
      )
      .all(now) as { type: string; s: JobState; n: number }[];
    const out = new Map<string, Record<JobState, number>>();
    for (const r of rows) {
      let c = out.get(r.type);
      if (c === undefined) {
        c = emptyCounts();
        out.set(r.type, c);
      }
      c[r.s] = r.n;
    }
    return out;
  }

  /** Removes ended jobs past their age or beyond the newest `keep*` of their state. */
  prune(now: number, policy: PrunePolicy): number {
    return pruneJobHistory(this.db, now, policy).jobs;
  }
}

export function emptyCounts(): Record<JobState, number> {
  return { waiting: 0, delayed: 0, active: 0, 'waiting-children': 0, completed: 0, dead: 0, cancelled: 0 };
}

export function nextCronRun(pattern: string, after: number): number {
  let next: Date | null;
  try {
    next = new Cron(pattern).nextRun(new Date(after));
  } catch (err) {
    throw new PhError('PH_INVALID_INPUT', `Not a cron pattern: ${(err as Error).message}`, { field: 'repeat.cron' });
  }
  if (next === null) throw new PhError('PH_INVALID_INPUT', `The cron pattern ${pattern} never runs again`, { field: 'repeat.cron' });
  return next.getTime();
}

export function toJobInfo(row: JobRow, now: number): JobInfo {
  return {
    id: String(row.id),
    type: row.type,
    payload: JSON.parse(row.payload) as unknown,
    state: row.state === 'waiting' && row.run_at > now ? 'delayed' : row.state,
    priority: row.priority,
    runAt: new Date(row.run_at).toISOString(),
    attemptsMade: row.attempts_made,
    maxAttempts: row.max_attempts,
    timeoutMs: row.timeout_ms,
    idempotencyKey: row.idempotency_key,
    repeatCron: row.repeat_cron,
    parentId: row.parent_id === null ? null : String(row.parent_id),
    childPolicy: row.child_policy,
    pendingChildren: row.pending_children,
    progress: row.progress,
    progressMessage: row.progress_message,
    result: row.result === null ? null : (JSON.parse(row.result) as unknown),
    lastError: row.last_error,
    errors: JSON.parse(row.errors) as string[],
    cancelRequested: row.cancel_requested === 1,
    createdAt: new Date(row.created_at).toISOString(),
    startedAt: row.started_at === null ? null : new Date(row.started_at).toISOString(),
    finishedAt: row.finished_at === null ? null : new Date(row.finished_at).toISOString(),
    createdBy: row.created_by,
    node: null,
    waitingFor: null,
  };
}
