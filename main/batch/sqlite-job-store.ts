/**
 * The SQLite job queue's state machine: every transition (enqueue, claim, complete, fail, cancel,
 * repeats, prune) in one transaction each. Its parts: the row and its mapping in sqlite-job-row.ts,
 * the shared statements in sqlite-job-statements.ts, parents and children in sqlite-job-family.ts,
 * repeating runs in sqlite-job-repeat.ts.
 */
import type { Database } from 'better-sqlite3';
import { PhError } from '../../contract/errors';
import { backoffDelay } from './backoff';
import { SqliteJobTrail } from './job-attempts';
import { pruneJobHistory, type PrunePolicy } from './job-history';
import { listJobRows, type JobRowPage } from './sqlite-job-list';
import type { ChildPolicy, ChildSpec, JobFilter, JobLog, JobSpec, JobState } from './job-types';
import { JobFamily } from './sqlite-job-family';
import { firstRun, scheduleNext } from './sqlite-job-repeat';
import { appendError, toJobInfo, type JobRow, type Transition } from './sqlite-job-row';
import { JobStatements } from './sqlite-job-statements';

export const DEFAULT_ATTEMPTS = 3;
export const DEFAULT_BACKOFF_MS = 1000;

/**
 * Every transition of the durable queue, synchronous and each in one transaction, so a crash at
 * any point leaves a job in exactly one state. The queue (`SqliteJobQueue`) adds the timers, the
 * workers and the events around it.
 */
export class SqliteJobStore {
  readonly #sql: JobStatements;
  readonly #family: JobFamily;
  readonly trail: SqliteJobTrail;

  constructor(
    readonly db: Database,
    private readonly random: () => number = Math.random,
  ) {
    this.#sql = new JobStatements(db);
    this.#family = new JobFamily(db, this.#sql);
    this.trail = new SqliteJobTrail(db);
  }

  row(id: number): JobRow | undefined {
    return this.#sql.row(id);
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
    const { runAt, key } = firstRun(spec, now, spec.runAt ?? now + (spec.delayMs ?? 0), spec.idempotencyKey ?? null);
    const info = this.#sql.insert.run({
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
      const existing = this.#sql.byKey.get(key) as JobRow;
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
    const rows = this.#sql.claim.all({ type, limit, owner, now, until: now + leaseMs }) as JobRow[];
    return rows.sort((a, b) => b.priority - a.priority || a.run_at - b.run_at || a.id - b.id);
  }

  heartbeat(owner: string, now: number, leaseMs: number): void {
    this.#sql.heartbeat.run(now + leaseMs, owner);
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
    const row = this.#sql.complete.get(result === undefined ? null : JSON.stringify(result), now, id, owner) as JobRow | undefined;
    if (row === undefined) return null;
    const out: Transition[] = [{ id, type: row.type, state: 'completed' }];
    if (row.parent_id !== null) out.push(...this.#family.childEnded(row.parent_id, id, true, row.child_policy, null, now));
    // A run cancelled while it finished anyway still ends its series, as a cancel does.
    if (row.repeat_cron !== null && row.cancel_requested === 0) scheduleNext(this.#sql.insert, row, now);
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
    const errors = appendError(row.errors, `attempt ${row.attempts_made}: ${message}`);
    if (!final && row.attempts_made < row.max_attempts && row.cancel_requested === 0) {
      this.#sql.retryLater.run(now + backoffDelay(row.backoff_ms, row.attempts_made, this.random), message, errors, row.id);
      return [{ id: row.id, type: row.type, state: 'waiting' }];
    }
    this.#sql.bury.run(message, errors, now, row.id);
    const out: Transition[] = [{ id: row.id, type: row.type, state: 'dead' }];
    if (row.parent_id !== null) out.push(...this.#family.childEnded(row.parent_id, row.id, false, row.child_policy, message, now));
    if (row.repeat_cron !== null && row.cancel_requested === 0) scheduleNext(this.#sql.insert, row, now);
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
      return this.#family.afterCancel(row, now);
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
        this.#sql.cancelActive.run(row.id);
        return { transitions: [], running: true };
      }
      if (row.state !== 'waiting' && row.state !== 'waiting-children') {
        throw new PhError('PH_BATCH_JOB_NOT_CANCELLABLE', `Job ${id} is ${row.state}; only jobs that have not ended can be cancelled`);
      }
      this.#sql.cancelWaiting.run(now, row.id);
      return { transitions: this.#family.afterCancel(row, now), running: false };
    })();
  }

  /**
   * Repairs parents left in waiting-children with no child still to end (a child deleted, or rows
   * from before a crash), so no parent waits forever.
   */
  reconcileParents(now: number): Transition[] {
    return this.db.transaction(() => this.#family.reconcileParents(now))();
  }

  /** A graceful stop hands the job back without spending an attempt. */
  release(id: number, owner: string): boolean {
    return this.#sql.release.run(id, owner).changes > 0;
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
        .run(now, appendError(row.errors, 'retried: attempts reset'), row.id);
      return this.row(row.id) as JobRow;
    })();
  }

  remove(id: string, now: number): Transition[] {
    return this.db.transaction(() => {
      const row = this.mustRow(id);
      if (row.state === 'active') throw new PhError('PH_BATCH_JOB_RUNNING', `Job ${id} is running; cancel it first`);
      const out: Transition[] = [];
      if (row.parent_id !== null && (row.state === 'waiting' || row.state === 'waiting-children')) {
        out.push(...this.#family.childEnded(row.parent_id, row.id, false, row.child_policy, 'deleted', now));
      }
      out.push(...this.#family.stopChildren(row.id, now));
      this.db.prepare('DELETE FROM jobs WHERE id = ?').run(row.id);
      return out;
    })();
  }

  progress(id: number, fraction: number, message: string | null, now: number): void {
    if (this.#sql.progress.run(fraction, message, id).changes > 0) this.trail.progress(id, now, fraction, message);
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
    this.#sql.log.run(id, now, message);
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
