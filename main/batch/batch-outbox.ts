import type { Database, Statement } from 'better-sqlite3';
import type { Logger } from '../logger';
import type { ResourceRegistry } from './batch-registry';
import type { BatchMode, BatchOp, BatchSpec } from './batch-types';

interface OutboxRow {
  id: number;
  batch_id: string;
  first_idx: number;
  last_idx: number;
  next_idx: number;
  after_batch: number;
  committed: number;
}

/**
 * The transactional outbox of after* hooks. `record()` runs inside the transaction that commits the
 * operations, so a hook is owed exactly when its operation committed; the drain, after commit,
 * calls each hook and then moves the row's cursor past it. A crash between a hook and its cursor
 * update delivers that one hook again on restart, with the same `deliveryId` to deduplicate by.
 */
export class BatchOutbox {
  readonly #insert: Statement;
  readonly #advance: Statement;
  readonly #remove: Statement;
  /** Operations of batches applied in this process, so the drain need not parse the stored spec. */
  readonly #ops = new Map<string, readonly BatchOp[]>();
  #draining: Promise<void> | null = null;
  #again = false;

  constructor(
    private readonly db: Database,
    private readonly registry: ResourceRegistry,
    private readonly logger: Logger,
  ) {
    this.#insert = db.prepare(
      'INSERT INTO batch_outbox (batch_id, first_idx, last_idx, next_idx, after_batch, committed) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.#advance = db.prepare('UPDATE batch_outbox SET next_idx = ? WHERE id = ?');
    this.#remove = db.prepare('DELETE FROM batch_outbox WHERE id = ?');
  }

  /** Inside the committing transaction: owes the after* hooks of ops[first..last], if any resource has them. */
  record(batchId: string, ops: readonly BatchOp[], first: number, last: number, afterBatch: boolean): boolean {
    const wantsOp = this.#hasHook(ops, first, last, 'afterOperation');
    const wantsBatch = afterBatch && this.#hasHook(ops, 0, ops.length - 1, 'afterBatch');
    if (!wantsOp && !wantsBatch) return false;
    this.#ops.set(batchId, ops);
    this.#insert.run(batchId, first, wantsOp ? last : first - 1, first, wantsBatch ? 1 : 0, last - first + 1);
    return true;
  }

  recordAfterBatch(batchId: string, ops: readonly BatchOp[], committed: number): void {
    if (!this.#hasHook(ops, 0, ops.length - 1, 'afterBatch')) return;
    this.#ops.set(batchId, ops);
    this.#insert.run(batchId, 0, -1, 0, 1, committed);
  }

  /** Starts a drain soon (or another pass after the running one). */
  kick(): void {
    if (this.#draining !== null) {
      this.#again = true;
      return;
    }
    this.#draining = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.#drain())
      .catch((err: unknown) => this.logger.error({ err }, 'batch outbox drain failed'))
      .finally(() => {
        this.#draining = null;
        if (this.#again) {
          this.#again = false;
          this.kick();
        }
      });
  }

  /** Resolves once everything owed so far has been delivered. */
  async idle(): Promise<void> {
    while (this.#draining !== null) await this.#draining;
  }

  pending(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM batch_outbox').get() as { n: number }).n;
  }

  async #drain(): Promise<void> {
    for (;;) {
      const rows = this.db.prepare('SELECT * FROM batch_outbox ORDER BY id LIMIT 100').all() as OutboxRow[];
      if (rows.length === 0) return;
      for (const row of rows) await this.#deliver(row);
    }
  }

  async #deliver(row: OutboxRow): Promise<void> {
    const batch = this.db.prepare('SELECT mode, spec FROM batches WHERE id = ?').get(row.batch_id) as
      { mode: BatchMode; spec: string } | undefined;
    if (batch === undefined) {
      this.#remove.run(row.id);
      return;
    }
    let ops = this.#ops.get(row.batch_id);
    if (ops === undefined) {
      ops = (JSON.parse(batch.spec) as BatchSpec).operations;
      this.#ops.set(row.batch_id, ops);
    }
    for (let idx = row.next_idx; idx <= row.last_idx; idx += 1) {
      const op = ops[idx] as BatchOp;
      const hook = this.registry.get(op.resource)?.hooks?.afterOperation;
      if (hook !== undefined) {
        try {
          await hook(op, { batchId: row.batch_id, mode: batch.mode, index: idx, deliveryId: `${row.batch_id}:${idx}` });
        } catch (err) {
          this.logger.error({ err, batchId: row.batch_id, index: idx }, 'afterOperation hook failed');
        }
      }
      this.#advance.run(idx + 1, row.id);
    }
    if (row.after_batch === 1) {
      for (const resource of new Set(ops.map((o) => o.resource))) {
        try {
          await this.registry.get(resource)?.hooks?.afterBatch?.({ batchId: row.batch_id, mode: batch.mode, committed: row.committed });
        } catch (err) {
          this.logger.error({ err, batchId: row.batch_id, resource }, 'afterBatch hook failed');
        }
      }
    }
    this.#remove.run(row.id);
    if (row.after_batch === 1 || batch.mode === 'atomic') this.#ops.delete(row.batch_id);
  }

  #hasHook(ops: readonly BatchOp[], first: number, last: number, hook: 'afterOperation' | 'afterBatch'): boolean {
    const seen = new Set<string>();
    for (let i = first; i <= last; i += 1) {
      const resource = (ops[i] as BatchOp).resource;
      if (seen.has(resource)) continue;
      seen.add(resource);
      if (this.registry.get(resource)?.hooks?.[hook] !== undefined) return true;
    }
    return false;
  }
}
