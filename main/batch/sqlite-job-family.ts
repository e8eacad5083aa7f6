/**
 * Parents and children on the SQLite queue: what a child's end does to its parent (by the child's
 * policy), what a parent's cancel or failure does to its children, and the repair of parents left
 * waiting with no child still to end. Called inside the store's transactions, never on its own.
 */
import type { Database } from 'better-sqlite3';
import type { ChildPolicy } from './job-types';
import { appendError, type JobRow, type Transition } from './sqlite-job-row';
import type { JobStatements } from './sqlite-job-statements';

export class JobFamily {
  constructor(
    private readonly db: Database,
    private readonly sql: JobStatements,
  ) {}

  /** A job was cancelled: its children stop too, and its parent hears that a child ended without success. */
  afterCancel(row: JobRow, now: number): Transition[] {
    const out: Transition[] = [{ id: row.id, type: row.type, state: 'cancelled' }];
    out.push(...this.stopChildren(row.id, now));
    if (row.parent_id !== null) out.push(...this.childEnded(row.parent_id, row.id, false, row.child_policy, 'cancelled', now));
    return out;
  }

  /** Cancels the children that have not ended: waiting ones at once, running ones flagged for abort. */
  stopChildren(parentId: number, now: number): Transition[] {
    const out: Transition[] = [];
    const children = this.db
      .prepare("SELECT * FROM jobs WHERE parent_id = ? AND state IN ('waiting', 'waiting-children', 'active')")
      .all(parentId) as JobRow[];
    for (const child of children) {
      if (child.state === 'active') {
        this.sql.cancelActive.run(child.id);
        out.push({ id: child.id, type: child.type, state: 'active', abort: true });
      } else {
        this.sql.cancelWaiting.run(now, child.id);
        out.push({ id: child.id, type: child.type, state: 'cancelled' });
        out.push(...this.stopChildren(child.id, now));
      }
    }
    return out;
  }

  /** A child ended: the parent moves on by the child's policy, so it can never wait forever. */
  childEnded(parentId: number, childId: number, ok: boolean, policy: ChildPolicy, error: string | null, now: number): Transition[] {
    const parent = this.sql.row(parentId);
    if (parent === undefined || parent.state !== 'waiting-children') return [];
    const pending = Math.max(0, parent.pending_children - 1);
    if (!ok && policy === 'fail-parent') {
      const message = `child ${childId} failed: ${error ?? 'unknown error'}`;
      this.db.prepare('UPDATE jobs SET pending_children = ? WHERE id = ?').run(pending, parentId);
      this.sql.bury.run(message, appendError(parent.errors, message), now, parentId);
      const out: Transition[] = [{ id: parentId, type: parent.type, state: 'dead' }];
      out.push(...this.stopChildren(parentId, now));
      if (parent.parent_id !== null) out.push(...this.childEnded(parent.parent_id, parentId, false, parent.child_policy, message, now));
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
        out.push(...this.childEnded(parent.id, failed.id, false, 'fail-parent', failed.last_error ?? 'cancelled', now));
      } else {
        this.db
          .prepare("UPDATE jobs SET pending_children = 0, state = 'waiting', run_at = max(run_at, ?) WHERE id = ?")
          .run(now, parent.id);
        out.push({ id: parent.id, type: parent.type, state: 'waiting' });
      }
    }
    return out;
  }
}
