import type { Database, Statement } from 'better-sqlite3';
import { newId } from '../fleet';
import { PhError } from '../../contract/errors';
import type { Clock } from '../clock';
import type { Logger } from '../logger';
import { BatchOutbox } from './batch-outbox';
import type { ResourceRegistry } from './batch-registry';
import { BatchReportReader, compactReport, emptyReport, errorOf, expandReport, finish } from './batch-reports';
import type { BatchMode, BatchOp, BatchReport, BatchSpec, OpContext, OpHandler, OpReport } from './batch-types';
import { beforeBatch, PlanCache, Refused, validateAll, validateOne } from './batch-validation';

export interface ApplyOptions {
  readonly batchId?: string;
  /** Called as a non-atomic batch advances (every 1% or so), and once at the end. */
  readonly onProgress?: (done: number, total: number) => void;
  /** Stops a non-atomic batch between operations; what committed stays committed and the rest is skipped. */
  readonly signal?: AbortSignal;
}

/**
 * Applies batches of operations through the handlers of a `ResourceRegistry`.
 *
 * Atomic: validators for every operation, then every handler, in ONE SQLite transaction, together
 * with the batch's report row and its outbox row; any refusal or throw rolls all of it back.
 * Non-atomic: each operation commits on its own with its status row, so a batch interrupted by a
 * crash resumes (`resumeInterrupted()`) at the first operation that had not committed.
 * after* hooks are delivered from the outbox once the operations have committed.
 * What can refuse an operation is in batch-validation.ts; how reports are built, stored and read, in batch-reports.ts.
 */
export class BatchEngine {
  readonly outbox: BatchOutbox;
  readonly #insertBatch: Statement;
  readonly #finishBatch: Statement;
  readonly #insertOp: Statement;
  readonly #setOp: Statement;
  readonly #reports: BatchReportReader;
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
    this.#reports = new BatchReportReader(db, clock);
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
  applyAtomic(spec: BatchSpec, batchId: string = newId()): BatchReport {
    const ops = spec.operations;
    const startedAt = this.clock.now();
    const report = emptyReport(batchId, 'atomic', ops.length, startedAt);
    const ctx = { db: this.db, batchId, index: 0 };
    const plan = new PlanCache(this.registry);
    const run = this.db.transaction(() => {
      beforeBatch(this.registry, this.db, ops, batchId, 'atomic');
      const refusals = validateAll(ops, ctx, plan);
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
    const batchId = options.batchId ?? newId();
    const ops = spec.operations;
    this.db.transaction(() => {
      this.#insertBatch.run(batchId, 'non-atomic', 'running', JSON.stringify(spec), this.clock.now());
      for (let i = 0; i < ops.length; i += 1) this.#insertOp.run(batchId, i);
      beforeBatch(this.registry, this.db, ops, batchId, 'non-atomic');
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
          const refusal = validateOne(this.registry, op, ctx);
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
    const report = this.#reports.fromRows(batchId, 'non-atomic', created.created_at);
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
    return this.#reports.get(batchId);
  }

  /** The reports of those of `batchIds` this node holds, in one read (a running batch adds its own). */
  getMany(batchIds: readonly string[]): BatchReport[] {
    return this.#reports.getMany(batchIds);
  }

  list(limit = 50): { batchId: string; mode: BatchMode; status: string; createdAt: string; finishedAt: string | null }[] {
    return this.#reports.list(limit);
  }
}
