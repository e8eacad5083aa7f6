/**
 * What the console's job detail shows beyond the job row: every failed attempt with its error and
 * stack, and the job's progress over time. Stacks are for operators of this console only (the
 * `jobs.attempts` operation needs the operator role); they never reach a client as an API error.
 */
import type { Database, Statement } from 'better-sqlite3';
import type { JobAttempt, ProgressPoint } from './job-types';
import { jobErrorText } from './job-types';

/** A stack is cut to this many characters: V8 keeps 10 frames by default, well under it. */
const MAX_STACK_CHARS = 4000;
/** Attempts kept per job, newest: as many as the job's own error list, and as BullMQ's stack list (stackTraceLimit). */
export const MAX_ATTEMPTS_KEPT = 10;
/** One progress point per job per second at most; a handler reporting every row would fill the table. */
export const PROGRESS_SAMPLE_MS = 1000;
/** Points kept per job: the newest are dropped past it (the start of a run matters as much as its end). */
export const MAX_PROGRESS_POINTS = 300;

/** The stack of a failure, under `text` (the coded message the job records) rather than the raw one. */
export function stackOf(err: unknown, text: string = jobErrorText(err)): string | null {
  if (!(err instanceof Error) || err.stack === undefined) return null;
  const frames = err.stack.split('\n').filter((line) => /^\s+at /.test(line));
  return `${err.name}: ${text}\n${frames.join('\n')}`.slice(0, MAX_STACK_CHARS);
}

/** Decides which progress reports become timeline points: the first of a job, then one a second, and the last (1). */
export class ProgressSampler {
  readonly #last = new Map<string, { at: number; count: number }>();

  take(id: string, now: number, fraction: number): boolean {
    const last = this.#last.get(id);
    if (last !== undefined && (last.count >= MAX_PROGRESS_POINTS || (now - last.at < PROGRESS_SAMPLE_MS && fraction < 1))) return false;
    // Jobs that ended leave their entry behind; past this many, starting over costs one extra point each.
    if (this.#last.size >= 10_000) this.#last.clear();
    this.#last.set(id, { at: now, count: (last?.count ?? 0) + 1 });
    return true;
  }
}

/** The SQLite queue's attempt and progress records (tables `job_attempts`, `job_progress`). */
export class SqliteJobTrail {
  readonly #attempt: Statement;
  readonly #trim: Statement;
  readonly #attempts: Statement;
  readonly #point: Statement;
  readonly #points: Statement;
  readonly #sampler = new ProgressSampler();

  constructor(db: Database) {
    this.#attempt = db.prepare('INSERT INTO job_attempts (job_id, attempt, at, error, stack) VALUES (?, ?, ?, ?, ?)');
    this.#trim = db.prepare(
      'DELETE FROM job_attempts WHERE job_id = ? AND id NOT IN (SELECT id FROM job_attempts WHERE job_id = ? ORDER BY id DESC LIMIT ?)',
    );
    this.#attempts = db.prepare('SELECT attempt, at, error, stack FROM job_attempts WHERE job_id = ? ORDER BY id');
    this.#point = db.prepare('INSERT INTO job_progress (job_id, at, progress, message) VALUES (?, ?, ?, ?)');
    this.#points = db.prepare('SELECT at, progress, message FROM job_progress WHERE job_id = ? ORDER BY id');
  }

  recordAttempt(jobId: number, attempt: number, at: number, error: string, stack: string | null): void {
    this.#attempt.run(jobId, attempt, at, error, stack);
    // A job retried again and again keeps its newest attempts, not every one it ever made.
    this.#trim.run(jobId, jobId, MAX_ATTEMPTS_KEPT);
  }

  attempts(jobId: number): JobAttempt[] {
    return (this.#attempts.all(jobId) as { attempt: number; at: number; error: string; stack: string | null }[]).map((a) => ({
      attempt: a.attempt,
      at: new Date(a.at).toISOString(),
      error: a.error,
      stack: a.stack,
    }));
  }

  progress(jobId: number, at: number, fraction: number, message: string | null): void {
    if (this.#sampler.take(String(jobId), at, fraction)) this.#point.run(jobId, at, fraction, message);
  }

  timeline(jobId: number): ProgressPoint[] {
    return (this.#points.all(jobId) as { at: number; progress: number; message: string | null }[]).map((p) => ({
      at: new Date(p.at).toISOString(),
      progress: p.progress,
      message: p.message,
    }));
  }
}

/**
 * A BullMQ job's attempts from the stacks BullMQ keeps (one per failed attempt, oldest first; the
 * worker writes each under the coded message). BullMQ keeps no time per attempt: only the last, when
 * the job has ended, has one.
 */
export function attemptsFromStacks(stacks: readonly string[], attemptsMade: number, finishedOn: number | undefined): JobAttempt[] {
  const n = stacks.length;
  return stacks.map((stack, i) => {
    const lines = stack.split('\n');
    const at = lines.findIndex((line) => /^\s+at /.test(line));
    const head = (at === -1 ? lines : lines.slice(0, at)).join('\n');
    const error = head.replace(/^[A-Za-z]*Error: /, '');
    return {
      attempt: attemptsMade >= n ? attemptsMade - (n - 1 - i) : i + 1,
      at: i === n - 1 && finishedOn !== undefined ? new Date(finishedOn).toISOString() : null,
      error,
      stack,
    };
  });
}
