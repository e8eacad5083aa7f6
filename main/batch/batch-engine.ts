import { randomUUID } from 'node:crypto';
import type { Database, Statement } from 'better-sqlite3';
import { PhError } from '../../contract/errors';
import type { Clock } from '../clock';
import type { Logger } from '../logger';
import { BatchOutbox } from './batch-outbox';
import type { ResourceRegistry } from './batch-registry';
import type {
  BatchMode,
  BatchOp,
  BatchReport,
  BatchSpec,
  OpContext,
  OpHandler,
  OpReport,
  OpStatus,
  ResourceHooks,
  Validator,
} from './batch-types';

export interface ApplyOptions {
  readonly batchId?: string;
  /** Called as a non-atomic batch advances (every 1% or so), and once at the end. */
  readonly onProgress?: (done: number, total: number) => void;
  /** Stops a non-atomic batch between operations; what committed stays committed and the rest is skipped. */
  readonly signal?: AbortSignal;
}

/** Thrown inside the atomic transaction to roll it back with every refusal by index. */
class Refused extends Error {
  constructor(readonly errors: { index: number; code: string; message: string }[]) {
    super('batch refused');
  }
}

/**
 * Applies batches of operations through the handlers of a `ResourceRegistry`.
 *
 * Atomic: validators for every operation, then every handler, in ONE SQLite transaction, together
 * with the batch's report row and its outbox row; any refusal or throw rolls all of it back.
 * Non-atomic: each operation commits on its own with its status row, so a batch interrupted by a
 * crash resumes (`resumeInterrupted()`) at the first operation that had not committed.
 * after* hooks are delivered from the outbox once the operations have committed.
 */
export class BatchEngine {
  readonly outbox: BatchOutbox;
  readonly #insertBatch: Statement;
  readonly #finishBatch: Statement;
  readonly #insertOp: Statement;
  readonly #setOp: Statement;
  /** Batches running in this process: a resume and a job re-run of the same batch share one run. */
  readonly #inFlight = new Map<string, Promise<BatchReport>>();
  #onFinished: (report: BatchReport) => void = () => undefined;

  constructor(
    private readonly db: Database,
    private readonly registry: ResourceRegistry,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {
    this.outbox = new BatchOutbox(db, registry, logger);
    this.#insertBatch = db.prepare('INSERT INTO batches (id, mode, status, spec, report, created_at) VALUES (?, ?, ?, ?, NULL, ?)');
    this.#finishBatch = db.prepare('UPDATE batches SET status = ?, report = ?, finished_at = ? WHERE id = ?');
    this.#insertOp = db.prepare("INSERT INTO batch_ops (batch_id, idx, status) VALUES (?, ?, 'pending')");
    this.#setOp = db.prepare('UPDATE batch_ops SET status = ?, error_code = ?, error = ?, result = ? WHERE batch_id = ? AND idx = ?');
  }

  /** Called with each batch's final report once it has committed (the fleet share publishes it). */
  onFinished(listener: (report: BatchReport) => void): void {
    this.#onFinished = listener;
  }

  async apply(spec: BatchSpec, options: ApplyOptions = {}): Promise<BatchReport> {
    const mode = spec.mode ?? 'atomic';
    if (spec.operations.length === 0)
      throw new PhError('PH_BATCH_INVALID', 'A batch needs at least one operation', { field: 'operations' });
    if (options.batchId !== undefined) {
      // Applying a batch id that exists (a job re-run after a crash) returns its report, or finishes it.
      const running = this.#inFlight.get(options.batchId);
      if (running !== undefined) return running;
      const row = this.db.prepare('SELECT mode, report FROM batches WHERE id = ?').get(options.batchId) as
        { mode: BatchMode; report: string | null } | undefined;
      if (row?.report != null) return expandReport(row.report);
      if (row !== undefined) return this.#once(options.batchId, () => this.#runNonAtomic(options.batchId as string, spec, options));
    }
    const report = mode === 'atomic' ? this.applyAtomic(spec, options.batchId) : await this.#applyNonAtomic(spec, options);
    this.outbox.kick();
    return report;
  }

  #once(batchId: string, run: () => Promise<BatchReport>): Promise<BatchReport> {
    const existing = this.#inFlight.get(batchId);
    if (existing !== undefined) return existing;
    const p = run().finally(() => {
      this.#inFlight.delete(batchId);
      this.outbox.kick();
    });
    this.#inFlight.set(batchId, p);
    return p;
  }

  /** The atomic path, synchronous end to end: nothing else can interleave with its transaction. */
  applyAtomic(spec: BatchSpec, batchId: string = randomUUID()): BatchReport {
    const ops = spec.operations;
    const startedAt = this.clock.now();
    const report = emptyReport(batchId, 'atomic', ops.length, startedAt);
    const ctx = { db: this.db, batchId, index: 0 };
    const plan = new PlanCache(this.registry);
    const run = this.db.transaction(() => {
      this.#beforeBatch(ops, batchId, 'atomic');
      const refusals = this.#validateAll(ops, ctx, plan);
      if (refusals.length > 0) throw new Refused(refusals);
      for (let i = 0; i < ops.length; i += 1) {
        const op = ops[i] as BatchOp;
        ctx.index = i;
        try {
          const step = plan.of(op);
          step.before?.(op, ctx);
          const result = (step.handler as OpHandler)(op, ctx);
          const entry = report.operations[i] as OpReport;
          entry.status = 'succeeded';
          if (result !== undefined) entry.result = result;
        } catch (err) {
          throw new Refused([{ index: i, ...errorOf(err, 'PH_BATCH_OPERATION_FAILED') }]);
        }
      }
      // The stored spec feeds the outbox on restart; without hooks owed nothing reads it.
      const owed = this.outbox.record(batchId, ops, 0, ops.length - 1, true);
      finish(report, this.clock.now());
      this.#insertBatch.run(batchId, 'atomic', 'running', owed ? JSON.stringify(spec) : '', startedAt);
      this.#finishBatch.run(report.status, compactReport(report), this.clock.now(), batchId);
    });
    try {
      run();
    } catch (err) {
      if (!(err instanceof Refused)) throw err;
      // The transaction rolled back: every operation is skipped but the ones that were refused.
      for (const op of report.operations) {
        delete op.result;
        op.status = 'skipped';
      }
      for (const e of err.errors) {
        const entry = report.operations[e.index] as OpReport;
        entry.status = 'failed';
        entry.error = { code: e.code, message: e.message };
      }
      report.errors = err.errors;
      finish(report, this.clock.now());
      this.db.transaction(() => {
        this.#insertBatch.run(batchId, 'atomic', 'running', '', startedAt);
        this.#finishBatch.run(report.status, compactReport(report), this.clock.now(), batchId);
      })();
    }
    this.#onFinished(report);
    return report;
  }

  async #applyNonAtomic(spec: BatchSpec, options: ApplyOptions): Promise<BatchReport> {
    const batchId = options.batchId ?? randomUUID();
    const ops = spec.operations;
    this.db.transaction(() => {
      this.#insertBatch.run(batchId, 'non-atomic', 'running', JSON.stringify(spec), this.clock.now());
      for (let i = 0; i < ops.length; i += 1) this.#insertOp.run(batchId, i);
      this.#beforeBatch(ops, batchId, 'non-atomic');
    })();
    return this.#once(batchId, () => this.#runNonAtomic(batchId, spec, options));
  }

  /** Finishes non-atomic batches a crash interrupted; operations that committed are not applied again. */
  async resumeInterrupted(): Promise<BatchReport[]> {
    const rows = this.db.prepare("SELECT id, spec FROM batches WHERE status = 'running' AND mode = 'non-atomic'").all() as {
      id: string;
      spec: string;
    }[];
    const reports: BatchReport[] = [];
    for (const row of rows) {
      this.logger.info({ batchId: row.id }, 'resuming an interrupted batch');
      reports.push(await this.#once(row.id, () => this.#runNonAtomic(row.id, JSON.parse(row.spec) as BatchSpec, {})));
    }
    this.outbox.kick();
    return reports;
  }

  async #runNonAtomic(batchId: string, spec: BatchSpec, options: ApplyOptions): Promise<BatchReport> {
    const ops = spec.operations;
    const continueOnError = spec.continueOnError ?? true;
    const created = this.db.prepare('SELECT created_at FROM batches WHERE id = ?').get(batchId) as { created_at: number };
    const pending = new Set(
      (this.db.prepare("SELECT idx FROM batch_ops WHERE batch_id = ? AND status = 'pending'").all(batchId) as { idx: number }[]).map(
        (r) => r.idx,
      ),
    );
    const step = Math.max(1, Math.floor(ops.length / 100));
    let stop = false;
    for (let i = 0; i < ops.length; i += 1) {
      if (!pending.has(i)) continue;
      if (stop || options.signal?.aborted === true) {
        this.#setOp.run('skipped', null, null, null, batchId, i);
        continue;
      }
      const op = ops[i] as BatchOp;
      const ctx: OpContext = { db: this.db, batchId, index: i };
      try {
        this.db.transaction(() => {
          const refusal = this.#validateOne(op, ctx);
          if (refusal !== null) throw new PhError('PH_BATCH_VALIDATION_FAILED', refusal.message);
          this.registry.get(op.resource)?.hooks?.beforeOperation?.(op, ctx);
          const result = this.registry.handlerFor(op)(op, ctx);
          this.#setOp.run('succeeded', null, null, result === undefined ? null : JSON.stringify(result), batchId, i);
          this.outbox.record(batchId, ops, i, i, false);
        })();
      } catch (err) {
        const e = errorOf(err, 'PH_BATCH_OPERATION_FAILED');
        this.#setOp.run('failed', e.code, e.message, null, batchId, i);
        if (!continueOnError) stop = true;
      }
      if (i % step === 0) {
        options.onProgress?.(i + 1, ops.length);
        // Let timers, I/O and cancellation in between operations: a long batch must not freeze the process.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
    const report = this.#reportFromRows(batchId, 'non-atomic', created.created_at);
    finish(report, this.clock.now());
    this.db.transaction(() => {
      this.#finishBatch.run(report.status, compactReport(report), this.clock.now(), batchId);
      this.outbox.recordAfterBatch(batchId, ops, report.counts.succeeded);
    })();
    this.#onFinished(report);
    options.onProgress?.(ops.length, ops.length);
    return report;
  }

  get(batchId: string): BatchReport {
    const row = this.db.prepare('SELECT mode, status, report, created_at FROM batches WHERE id = ?').get(batchId) as
      { mode: BatchMode; status: string; report: string | null; created_at: number } | undefined;
    if (row === undefined) throw new PhError('PH_BATCH_NOT_FOUND', `There is no batch ${batchId}`);
    if (row.report !== null) return expandReport(row.report);
    const report = this.#reportFromRows(batchId, row.mode, row.created_at);
    report.durationMs = this.clock.now() - row.created_at;
    return report;
  }

  /** The reports of those of `batchIds` this node holds, in one read (a running batch adds its own). */
  getMany(batchIds: readonly string[]): BatchReport[] {
    if (batchIds.length === 0) return [];
    const rows = this.db
      .prepare(`SELECT id, mode, report, created_at FROM batches WHERE id IN (${batchIds.map(() => '?').join(', ')})`)
      .all(...batchIds) as { id: string; mode: BatchMode; report: string | null; created_at: number }[];
    return rows.map((row) => {
      if (row.report !== null) return expandReport(row.report);
      const report = this.#reportFromRows(row.id, row.mode, row.created_at);
      report.durationMs = this.clock.now() - row.created_at;
      return report;
    });
  }

  list(limit = 50): { batchId: string; mode: BatchMode; status: string; createdAt: string; finishedAt: string | null }[] {
    const rows = this.db
      .prepare('SELECT id, mode, status, created_at, finished_at FROM batches ORDER BY created_at DESC LIMIT ?')
      .all(limit) as {
      id: string;
      mode: BatchMode;
      status: string;
      created_at: number;
      finished_at: number | null;
    }[];
    return rows.map((r) => ({
      batchId: r.id,
      mode: r.mode,
      status: r.status,
      createdAt: new Date(r.created_at).toISOString(),
      finishedAt: r.finished_at === null ? null : new Date(r.finished_at).toISOString(),
    }));
  }

  #reportFromRows(batchId: string, mode: BatchMode, createdAt: number): BatchReport {
    const rows = this.db
      .prepare('SELECT idx, status, error_code, error, result FROM batch_ops WHERE batch_id = ? ORDER BY idx')
      .all(batchId) as {
      idx: number;
      status: OpStatus;
      error_code: string | null;
      error: string | null;
      result: string | null;
    }[];
    const report = emptyReport(batchId, mode, 0, createdAt);
    for (const r of rows) {
      const entry: OpReport = { index: r.idx, status: r.status };
      if (r.error_code !== null) {
        entry.error = { code: r.error_code, message: r.error ?? '' };
        report.errors.push({ index: r.idx, code: r.error_code, message: r.error ?? '' });
      }
      if (r.result !== null) entry.result = JSON.parse(r.result) as unknown;
      report.operations.push(entry);
    }
    countOps(report);
    return report;
  }

  #beforeBatch(ops: readonly BatchOp[], batchId: string, mode: BatchMode): void {
    const seen = new Set<string>();
    for (const op of ops) {
      if (seen.has(op.resource)) continue;
      seen.add(op.resource);
      const hook = this.registry.get(op.resource)?.hooks?.beforeBatch;
      if (hook === undefined) continue;
      try {
        hook(
          ops.filter((o) => o.resource === op.resource),
          { db: this.db, batchId, mode },
        );
      } catch (err) {
        if (mode === 'atomic') throw new Refused([{ index: ops.indexOf(op), ...errorOf(err, 'PH_BATCH_VALIDATION_FAILED') }]);
        throw err;
      }
    }
  }

  #validateAll(
    ops: readonly BatchOp[],
    ctx: { db: Database; batchId: string; index: number },
    plan: PlanCache,
  ): { index: number; code: string; message: string }[] {
    const refusals: { index: number; code: string; message: string }[] = [];
    for (let i = 0; i < ops.length; i += 1) {
      ctx.index = i;
      const op = ops[i] as BatchOp;
      const step = plan.of(op);
      if (step.refusal !== null) {
        refusals.push({ index: i, ...step.refusal });
        continue;
      }
      try {
        for (const validator of step.validators) {
          const message = validator(op, ctx);
          if (typeof message === 'string') {
            refusals.push({ index: i, code: 'PH_BATCH_VALIDATION_FAILED', message });
            break;
          }
        }
      } catch (err) {
        refusals.push({ index: i, ...errorOf(err, 'PH_BATCH_VALIDATION_FAILED') });
      }
    }
    return refusals;
  }

  #validateOne(op: BatchOp, ctx: OpContext): { code: string; message: string } | null {
    try {
      this.registry.handlerFor(op);
      for (const validator of this.registry.validatorsFor(op)) {
        const message = validator(op, ctx);
        if (typeof message === 'string') return { code: 'PH_BATCH_VALIDATION_FAILED', message };
      }
      return null;
    } catch (err) {
      return errorOf(err, 'PH_BATCH_VALIDATION_FAILED');
    }
  }
}

interface Step {
  readonly handler: OpHandler | null;
  readonly refusal: { code: string; message: string } | null;
  readonly validators: readonly Validator[];
  readonly before: ResourceHooks['beforeOperation'];
}

/** Handler, validators and hook of each (resource, action, name), looked up once per batch, not once per operation. */
class PlanCache {
  readonly #steps = new Map<string, Step>();
  constructor(private readonly registry: ResourceRegistry) {}

  of(op: BatchOp): Step {
    const key = `${op.resource}\u0000${op.action}\u0000${op.name ?? ''}`;
    let step = this.#steps.get(key);
    if (step === undefined) {
      try {
        step = {
          handler: this.registry.handlerFor(op),
          refusal: null,
          validators: this.registry.validatorsFor(op),
          before: this.registry.get(op.resource)?.hooks?.beforeOperation,
        };
      } catch (err) {
        step = { handler: null, refusal: errorOf(err, 'PH_BATCH_VALIDATION_FAILED'), validators: [], before: undefined };
      }
      this.#steps.set(key, step);
    }
    return step;
  }
}

/** Stored form of a report: operations that only say "succeeded" are left out and put back on read. */
export function compactReport(report: BatchReport): string {
  const kept = report.operations.filter((o) => o.status !== 'succeeded' || o.result !== undefined);
  return JSON.stringify({ ...report, operations: kept, size: report.operations.length });
}

export function expandReport(text: string): BatchReport {
  const stored = JSON.parse(text) as BatchReport & { size?: number };
  if (stored.size === undefined) return stored;
  const operations: OpReport[] = new Array<OpReport>(stored.size);
  let k = 0;
  for (let i = 0; i < stored.size; i += 1) {
    const kept = stored.operations[k];
    if (kept !== undefined && kept.index === i) {
      operations[i] = kept;
      k += 1;
    } else operations[i] = { index: i, status: 'succeeded' };
  }
  const { size: _size, ...rest } = stored;
  return { ...rest, operations };
}

function emptyReport(batchId: string, mode: BatchMode, size: number, startedAt: number): BatchReport {
  const operations: OpReport[] = new Array<OpReport>(size);
  for (let i = 0; i < size; i += 1) operations[i] = { index: i, status: 'pending' };
  return {
    batchId,
    mode,
    status: 'running',
    counts: { pending: size, succeeded: 0, failed: 0, skipped: 0 },
    errors: [],
    operations,
    startedAt: new Date(startedAt).toISOString(),
    finishedAt: null,
    durationMs: 0,
  };
}

function countOps(report: BatchReport): void {
  const counts = { pending: 0, succeeded: 0, failed: 0, skipped: 0 };
  for (const op of report.operations) counts[op.status] += 1;
  report.counts = counts;
}

function finish(report: BatchReport, now: number): void {
  countOps(report);
  const { succeeded, failed, skipped, pending } = report.counts;
  if (pending > 0) report.status = 'running';
  else if (failed === 0 && skipped === 0) report.status = 'succeeded';
  else report.status = succeeded === 0 ? 'failed' : 'partial';
  report.finishedAt = new Date(now).toISOString();
  report.durationMs = now - Date.parse(report.startedAt);
}

/** A handler's error, as the report shows it: our coded errors keep their code; anything else keeps its message. */
function errorOf(err: unknown, fallback: string): { code: string; message: string } {
  if (err instanceof PhError) return { code: err.code, message: err.message };
  return { code: fallback, message: err instanceof Error ? err.message : String(err) };
}
