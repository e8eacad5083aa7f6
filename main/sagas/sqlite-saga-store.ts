import type { Database } from 'better-sqlite3';
import { PhError } from '../../contract/errors';
import type { Clock } from '../clock';
import {
  idempotencyId,
  stepError,
  type NewSaga,
  type Saga,
  type SagaFilter,
  type SagaHead,
  type SagaState,
  type SagaStepState,
  type SagaStore,
  type StepError,
  type StoredStep,
} from './saga-store';

interface SagaRow {
  id: string;
  type: string;
  state: SagaState;
  input: string | null;
  failure: string | null;
  cancel_requested: number;
  job_id: string | null;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
}

interface StepRow {
  idx: number;
  name: string;
  state: SagaStepState;
  attempts: number;
  compensation_attempts: number;
  result: string | null;
  errors: string;
  started_at: number | null;
  finished_at: number | null;
  compensated_at: number | null;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
const parse = (text: string | null): unknown => (text === null ? undefined : (JSON.parse(text) as unknown));

/** One node's sagas (no Redis): the sagas table and its steps, every change one statement or one transaction. */
export class SqliteSagaStore implements SagaStore {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {}

  /** Creates a saga and its pending steps; a known idempotency key returns the saga it made before. */
  async create(saga: NewSaga): Promise<{ id: string; created: boolean }> {
    return this.db.transaction(() => {
      if (saga.idempotencyKey !== undefined) {
        const existing = this.db.prepare('SELECT id FROM sagas WHERE idempotency_key = ?').get(saga.idempotencyKey) as
          { id: string } | undefined;
        if (existing !== undefined) return { id: existing.id, created: false };
      }
      const now = this.clock.now();
      this.db
        .prepare(`INSERT INTO sagas (id, type, state, input, idempotency_key, created_at, updated_at) VALUES (?, ?, 'running', ?, ?, ?, ?)`)
        .run(saga.id, saga.type, saga.input === undefined ? null : JSON.stringify(saga.input), saga.idempotencyKey ?? null, now, now);
      const step = this.db.prepare(`INSERT INTO saga_steps (saga_id, idx, name, state) VALUES (?, ?, ?, 'pending')`);
      saga.steps.forEach((name, idx) => step.run(saga.id, idx, name));
      return { id: saga.id, created: true };
    })();
  }

  async setJob(id: string, jobId: string): Promise<void> {
    this.db.prepare('UPDATE sagas SET job_id = ? WHERE id = ?').run(jobId, id);
  }

  async get(id: string): Promise<Saga> {
    const row = this.db.prepare('SELECT * FROM sagas WHERE id = ?').get(id) as SagaRow | undefined;
    if (row === undefined) throw new PhError('PH_SAGA_NOT_FOUND', `There is no saga with id ${id}`, { field: 'id' });
    return this.#toSaga(row);
  }

  async list(filter: SagaFilter): Promise<{ sagas: Saga[]; total: number }> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.state !== undefined) {
      where.push('state = ?');
      args.push(filter.state);
    }
    if (filter.type !== undefined) {
      where.push('type = ?');
      args.push(filter.type);
    }
    const clause = where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`;
    const rows = this.db
      .prepare(`SELECT * FROM sagas ${clause} ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`)
      .all(...args, filter.limit ?? 50, filter.offset ?? 0) as SagaRow[];
    const total = (this.db.prepare(`SELECT count(*) AS n FROM sagas ${clause}`).get(...args) as { n: number }).n;
    return { sagas: rows.map((row) => this.#toSaga(row)), total };
  }

  async head(id: string): Promise<SagaHead> {
    const row = this.db.prepare('SELECT type, state, input, cancel_requested FROM sagas WHERE id = ?').get(id) as SagaRow | undefined;
    if (row === undefined) throw new PhError('PH_SAGA_NOT_FOUND', `There is no saga with id ${id}`);
    return { type: row.type, state: row.state, input: parse(row.input), cancelRequested: row.cancel_requested === 1 };
  }

  async steps(id: string): Promise<StoredStep[]> {
    return (this.db.prepare('SELECT * FROM saga_steps WHERE saga_id = ? ORDER BY idx').all(id) as StepRow[]).map((row) => ({
      idx: row.idx,
      name: row.name,
      state: row.state,
      attempts: row.attempts,
      compensationAttempts: row.compensation_attempts,
      result: parse(row.result),
    }));
  }

  async requestCancel(id: string, by: string): Promise<boolean> {
    const changed = this.db
      .prepare(`UPDATE sagas SET cancel_requested = 1, failure = ?, updated_at = ? WHERE id = ? AND state = 'running'`)
      .run(`cancelled by ${by}`, this.clock.now(), id).changes;
    return changed === 1;
  }

  async actionStarted(id: string, idx: number): Promise<number> {
    const now = this.clock.now();
    this.db
      .prepare(
        `UPDATE saga_steps SET state = 'running', attempts = attempts + 1, started_at = coalesce(started_at, ?) WHERE saga_id = ? AND idx = ?`,
      )
      .run(now, id, idx);
    this.#touch(id);
    return this.#step(id, idx).attempts;
  }

  async actionDone(id: string, idx: number, result: unknown): Promise<void> {
    this.db
      .prepare(`UPDATE saga_steps SET state = 'done', result = ?, finished_at = ? WHERE saga_id = ? AND idx = ?`)
      .run(result === undefined ? null : JSON.stringify(result), this.clock.now(), id, idx);
    this.#touch(id);
  }

  async recordError(id: string, idx: number, phase: StepError['phase'], message: string): Promise<void> {
    const entry = stepError(this.clock.now(), phase, message);
    this.db
      .prepare(`UPDATE saga_steps SET errors = json_insert(errors, '$[#]', json(?)) WHERE saga_id = ? AND idx = ?`)
      .run(JSON.stringify(entry), id, idx);
  }

  async actionFailed(id: string, idx: number, failure: string): Promise<void> {
    this.db.transaction(() => {
      this.db
        .prepare(`UPDATE saga_steps SET state = 'failed', finished_at = ? WHERE saga_id = ? AND idx = ?`)
        .run(this.clock.now(), id, idx);
      this.#beginCompensation(id, failure);
    })();
  }

  async beginCompensation(id: string, failure: string | null): Promise<void> {
    this.#beginCompensation(id, failure);
  }

  #beginCompensation(id: string, failure: string | null): void {
    this.db
      .prepare(`UPDATE sagas SET state = 'compensating', failure = coalesce(failure, ?), updated_at = ? WHERE id = ?`)
      .run(failure, this.clock.now(), id);
  }

  async compensationStarted(id: string, idx: number): Promise<number> {
    this.db
      .prepare(
        `UPDATE saga_steps SET state = 'compensating', compensation_attempts = compensation_attempts + 1 WHERE saga_id = ? AND idx = ?`,
      )
      .run(id, idx);
    this.#touch(id);
    return this.#step(id, idx).compensation_attempts;
  }

  async compensated(id: string, idx: number): Promise<void> {
    this.db
      .prepare(`UPDATE saga_steps SET state = 'compensated', compensated_at = ? WHERE saga_id = ? AND idx = ?`)
      .run(this.clock.now(), id, idx);
    this.#touch(id);
  }

  async stuck(id: string, idx: number): Promise<void> {
    this.db.transaction(() => {
      this.db.prepare(`UPDATE saga_steps SET state = 'stuck' WHERE saga_id = ? AND idx = ?`).run(id, idx);
      this.#finish(id, 'stuck');
    })();
  }

  async finish(id: string, state: SagaState): Promise<void> {
    this.#finish(id, state);
  }

  #finish(id: string, state: SagaState): void {
    const now = this.clock.now();
    this.db.prepare('UPDATE sagas SET state = ?, updated_at = ?, finished_at = ? WHERE id = ?').run(state, now, now, id);
  }

  #touch(id: string): void {
    this.db.prepare('UPDATE sagas SET updated_at = ? WHERE id = ?').run(this.clock.now(), id);
  }

  #step(id: string, idx: number): StepRow {
    return this.db.prepare('SELECT * FROM saga_steps WHERE saga_id = ? AND idx = ?').get(id, idx) as StepRow;
  }

  #toSaga(row: SagaRow): Saga {
    const steps = this.db.prepare('SELECT * FROM saga_steps WHERE saga_id = ? ORDER BY idx').all(row.id) as StepRow[];
    return {
      id: row.id,
      type: row.type,
      state: row.state,
      input: parse(row.input) ?? null,
      failure: row.failure,
      cancelRequested: row.cancel_requested === 1,
      jobId: row.job_id,
      createdAt: new Date(row.created_at).toISOString(),
      updatedAt: new Date(row.updated_at).toISOString(),
      finishedAt: iso(row.finished_at),
      steps: steps.map((s) => ({
        name: s.name,
        state: s.state,
        attempts: s.attempts,
        compensationAttempts: s.compensation_attempts,
        idempotencyId: idempotencyId(row.id, s.name, 'action'),
        errors: JSON.parse(s.errors) as StepError[],
        startedAt: iso(s.started_at),
        finishedAt: iso(s.finished_at),
        compensatedAt: iso(s.compensated_at),
      })),
    };
  }
}
