import type { Database } from 'better-sqlite3';
import type { Clock } from '../clock';
import type { JobContext } from './job-types';

export interface SagaStep<T = unknown> {
  readonly name: string;
  run(ctx: JobContext): T | Promise<T>;
  /** Undoes `run`; receives what `run` returned. */
  compensate?(ctx: JobContext, result: T): void | Promise<void>;
}

export interface SagaOutcome {
  readonly completed: string[];
  readonly compensated: string[];
}

/**
 * Runs the steps of a multi-step job in order. Each finished step is recorded durably, so a re-run
 * after a crash skips it. When a step fails, the finished steps are compensated in reverse order,
 * each compensation recorded in `job_compensations` (done or failed), and the error is rethrown.
 * A compensated step's record is removed, so a retry of the job runs it again.
 * (SQLite queue only: the records live with the job rows.)
 */
export async function runSaga(ctx: JobContext, db: Database, clock: Clock, steps: readonly SagaStep<unknown>[]): Promise<SagaOutcome> {
  const jobId = Number(ctx.id);
  // As ctx.once: a row id comes back once the newest job is deleted, its creation time does not.
  const born = (db.prepare('SELECT created_at FROM jobs WHERE id = ?').get(jobId) as { created_at: number } | undefined)?.created_at ?? 0;
  const keyOf = (name: string) => `saga:${ctx.idempotencyKey ?? `job:${ctx.id}:${born}`}:${name}`;
  const lookup = db.prepare('SELECT result FROM job_effects WHERE effect_key = ?');
  const completed: { step: SagaStep<unknown>; result: unknown }[] = [];
  try {
    for (const step of steps) {
      const done = lookup.get(keyOf(step.name)) as { result: string | null } | undefined;
      if (done !== undefined) {
        completed.push({ step, result: done.result === null ? undefined : (JSON.parse(done.result) as unknown) });
        continue;
      }
      const result: unknown = await step.run(ctx);
      db.prepare('INSERT INTO job_effects (effect_key, result, at) VALUES (?, ?, ?)').run(
        keyOf(step.name),
        result === undefined ? null : JSON.stringify(result),
        clock.now(),
      );
      completed.push({ step, result });
    }
    return { completed: completed.map((c) => c.step.name), compensated: [] };
  } catch (err) {
    const compensated: string[] = [];
    const record = db.prepare('INSERT OR REPLACE INTO job_compensations (job_id, step, status, error, at) VALUES (?, ?, ?, ?, ?)');
    for (const { step, result } of [...completed].reverse()) {
      try {
        await step.compensate?.(ctx, result);
        db.transaction(() => {
          record.run(jobId, step.name, 'done', null, clock.now());
          db.prepare('DELETE FROM job_effects WHERE effect_key = ?').run(keyOf(step.name));
        })();
        compensated.push(step.name);
      } catch (compErr) {
        record.run(jobId, step.name, 'failed', compErr instanceof Error ? compErr.message : String(compErr), clock.now());
      }
    }
    ctx.log(`saga failed at a step; compensated ${compensated.join(', ') || 'nothing'}`);
    throw err;
  }
}

/** The compensations recorded for a job, in the order they ran. */
export function compensationsOf(db: Database, jobId: string): { step: string; status: 'done' | 'failed'; error: string | null }[] {
  return db.prepare('SELECT step, status, error FROM job_compensations WHERE job_id = ? ORDER BY at, rowid').all(Number(jobId)) as {
    step: string;
    status: 'done' | 'failed';
    error: string | null;
  }[];
}
