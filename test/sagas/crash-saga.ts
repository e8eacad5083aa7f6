import type { Database } from 'better-sqlite3';
import type { SagaType } from '../../main/sagas';

/** Every call is recorded (so the test sees the kills land mid-step), every effect once by its idempotency id. */
export const CRASH_TABLES = `
  CREATE TABLE IF NOT EXISTS saga_calls (phase TEXT NOT NULL, step TEXT NOT NULL, pid INTEGER NOT NULL, saga TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS saga_effects (idempotency_id TEXT PRIMARY KEY, phase TEXT NOT NULL, step TEXT NOT NULL);
`;

const STEP_MS = 400;

/**
 * Four steps; the fourth always fails, so the first three are compensated, newest first. Each action
 * and compensation takes `STEP_MS`, the window the test kills the worker in, and applies its effect
 * with its idempotency id as the key: a second try after a kill finds it there and does not add one.
 */
export function crashSaga(db: Database): SagaType {
  const call = db.prepare('INSERT INTO saga_calls (phase, step, pid, saga) VALUES (?, ?, ?, ?)');
  const effect = db.prepare('INSERT OR IGNORE INTO saga_effects (idempotency_id, phase, step) VALUES (?, ?, ?)');
  const slowly = async (phase: string, step: string, ctx: { sagaId: string; idempotencyId: string }): Promise<string> => {
    call.run(phase, step, process.pid, ctx.sagaId);
    await new Promise((r) => setTimeout(r, STEP_MS));
    effect.run(ctx.idempotencyId, phase, step);
    return `${step} done`;
  };
  const step = (name: string) => ({
    name,
    retry: { attempts: 1, backoffMs: 10 },
    compensationRetry: { attempts: 5, backoffMs: 10 },
    action: (ctx: { sagaId: string; idempotencyId: string }) => slowly('action', name, ctx),
    compensate: (ctx: { sagaId: string; idempotencyId: string }) => slowly('compensation', name, ctx),
  });
  return {
    type: 'crash.saga',
    description: 'Three steps that succeed and a fourth that fails',
    steps: [
      step('one'),
      step('two'),
      step('three'),
      {
        name: 'four',
        retry: { attempts: 1, backoffMs: 10 },
        action: (ctx) => {
          call.run('action', 'four', process.pid, ctx.sagaId);
          throw new Error('four always fails');
        },
      },
    ],
  };
}
