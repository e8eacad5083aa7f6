/**
 * A batch's report: how it is built as operations end, its stored form (operations that only
 * say "succeeded" left out), and how a stored or still-running batch's report is read back.
 */
import type { Database } from 'better-sqlite3';
import { PhError } from '../../contract/errors';
import type { Clock } from '../clock';
import type { BatchMode, BatchReport, OpReport, OpStatus } from './batch-types';
import { isoTime } from '../iso-time';

/** Reads batches' reports from the `batches` and `batch_ops` rows the engine writes. */
export class BatchReportReader {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {}

  get(batchId: string): BatchReport {
    const row = this.db.prepare('SELECT mode, status, report, created_at FROM batches WHERE id = ?').get(batchId) as
      { mode: BatchMode; status: string; report: string | null; created_at: number } | undefined;
    if (row === undefined) throw new PhError('PH_BATCH_NOT_FOUND', `There is no batch ${batchId}`);
    if (row.report !== null) return expandReport(row.report);
    const report = this.fromRows(batchId, row.mode, row.created_at);
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
      const report = this.fromRows(row.id, row.mode, row.created_at);
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
      createdAt: isoTime(r.created_at),
      finishedAt: r.finished_at === null ? null : isoTime(r.finished_at),
    }));
  }

  /** A non-atomic batch's report from its per-operation status rows (it has no stored report until it ends). */
  fromRows(batchId: string, mode: BatchMode, createdAt: number): BatchReport {
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

export function emptyReport(batchId: string, mode: BatchMode, size: number, startedAt: number): BatchReport {
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

/** Counts the operations and sets the batch's status, end time and duration from them. */
export function finish(report: BatchReport, now: number): void {
  countOps(report);
  const { succeeded, failed, skipped, pending } = report.counts;
  if (pending > 0) report.status = 'running';
  else if (failed === 0 && skipped === 0) report.status = 'succeeded';
  else report.status = succeeded === 0 ? 'failed' : 'partial';
  report.finishedAt = new Date(now).toISOString();
  report.durationMs = now - Date.parse(report.startedAt);
}

/** A handler's error, as the report shows it: our coded errors keep their code; anything else keeps its message. */
export function errorOf(err: unknown, fallback: string): { code: string; message: string } {
  if (err instanceof PhError) return { code: err.code, message: err.message };
  return { code: fallback, message: err instanceof Error ? err.message : String(err) };
}
