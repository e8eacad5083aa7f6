/**
 * A row of the SQLite queue's `jobs` table, the transitions the store reports on it, and how a row
 * reads as the contract's `JobInfo`.
 */
import type { ChildPolicy, JobInfo, JobState } from './job-types';
import { isoTime } from '../iso-time';

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

const MAX_ERRORS_KEPT = 10;

/** The row's `errors` column (a JSON list) with `entry` appended, keeping the newest few. */
export function appendError(errors: string, entry: string): string {
  return JSON.stringify((JSON.parse(errors) as string[]).concat(entry).slice(-MAX_ERRORS_KEPT));
}

export function toJobInfo(row: JobRow, now: number): JobInfo {
  return {
    id: String(row.id),
    type: row.type,
    payload: JSON.parse(row.payload) as unknown,
    state: row.state === 'waiting' && row.run_at > now ? 'delayed' : row.state,
    priority: row.priority,
    runAt: isoTime(row.run_at),
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
    createdAt: isoTime(row.created_at),
    startedAt: row.started_at === null ? null : isoTime(row.started_at),
    finishedAt: row.finished_at === null ? null : isoTime(row.finished_at),
    createdBy: row.created_by,
    node: null,
    waitingFor: null,
  };
}
