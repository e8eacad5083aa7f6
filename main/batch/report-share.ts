import { Type } from '@sinclair/typebox';
import type { Redis } from 'ioredis';
import type { FleetSeal } from '../fleet';
import type { Logger } from '../logger';
import type { BatchEngine } from './batch-engine';
import { compactReport, expandReport } from './batch-reports';
import type { BatchReport } from './batch-types';

const INDEX = 'ph:batch:index';
const reportKey = (id: string): string => `ph:batch:report:${id}`;
const KIND = 'batch.report';
/** The stored report is the engine's compact form, checked again when expanded. */
const StoredSchema = Type.Object({ report: Type.String() });

export interface SharedBatchSummary {
  batchId: string;
  mode: string;
  status: string;
  createdAt: string;
  finishedAt: string | null;
  node: string;
}

/**
 * Batch reports, fleet-wide. The node that applied a batch keeps it in its SQLite (the durable
 * copy, and what makes a re-run of the same batch id return the committed report); each final
 * report is also published to Redis for `keepMs` (the batches' retention window, 7 days by
 * default), with the node that applied it, so `batch.status` and `batch.list` answer on every node.
 * Re-published (those still kept) after Redis comes back empty.
 * Each entry is sealed with the fleet secret; the node that sealed it is the node that applied it.
 */
export class BatchReportShare {
  constructor(
    private readonly redis: Redis,
    readonly node: string,
    private readonly now: () => number,
    private readonly logger: Logger,
    private readonly seal: FleetSeal,
    private readonly keepMs: number,
  ) {}

  /** Fire and forget: a report not shared now is still in this node's SQLite and re-published on recovery. */
  publishSoon(report: BatchReport): void {
    this.publish([report]).catch((err: unknown) =>
      this.logger.warn({ err: (err as Error).message, batchId: report.batchId }, 'batch report not shared'),
    );
  }

  async publish(reports: readonly BatchReport[]): Promise<void> {
    if (reports.length === 0) return;
    const now = this.now();
    const multi = this.redis.multi();
    for (const r of reports) {
      const started = Date.parse(r.startedAt);
      const ttl = Math.max(1, started + this.keepMs - now);
      const k = reportKey(r.batchId);
      multi.set(k, this.seal.seal(KIND, k, JSON.stringify({ report: compactReport(r) })), 'PX', ttl);
      multi.zadd(INDEX, started, r.batchId);
    }
    multi.zremrangebyscore(INDEX, 0, now - this.keepMs);
    await multi.exec();
  }

  async get(batchId: string): Promise<(BatchReport & { node: string }) | null> {
    const stored = this.#open(batchId, await this.redis.get(reportKey(batchId)));
    if (stored === null) return null;
    const report = expandReport(stored.report);
    return report.batchId === batchId ? { ...report, node: stored.node } : null;
  }

  /** Several batches' reports in one read (MGET); those the fleet does not hold are left out. */
  async getMany(batchIds: readonly string[]): Promise<(BatchReport & { node: string })[]> {
    if (batchIds.length === 0) return [];
    const texts = await this.redis.mget(batchIds.map(reportKey));
    const out: (BatchReport & { node: string })[] = [];
    for (const [i, text] of texts.entries()) {
      const stored = this.#open(batchIds[i] as string, text);
      if (stored === null) continue;
      const report = expandReport(stored.report);
      if (report.batchId === batchIds[i]) out.push({ ...report, node: stored.node });
    }
    return out;
  }

  #open(batchId: string, text: string | null): { node: string; report: string } | null {
    if (text === null) return null;
    const opened = this.seal.openJson(KIND, reportKey(batchId), text, StoredSchema, false);
    return opened === null ? null : { node: opened.node, report: opened.value.report };
  }

  /** The newest batches of the whole fleet. */
  async list(limit: number): Promise<SharedBatchSummary[]> {
    const ids = await this.redis.zrevrange(INDEX, 0, limit - 1);
    if (ids.length === 0) return [];
    const texts = await this.redis.mget(ids.map(reportKey));
    const out: SharedBatchSummary[] = [];
    for (const [i, text] of texts.entries()) {
      const stored = this.#open(ids[i] as string, text);
      if (stored === null) continue;
      const r = JSON.parse(stored.report) as BatchReport;
      out.push({ batchId: r.batchId, mode: r.mode, status: r.status, createdAt: r.startedAt, finishedAt: r.finishedAt, node: stored.node });
    }
    return out;
  }

  /** This node's finished batches of the last 7 days, again (after Redis lost them). */
  async republish(engine: BatchEngine): Promise<number> {
    const since = this.now() - this.keepMs;
    const recent = engine.list(10_000).filter((b) => b.status !== 'running' && Date.parse(b.createdAt) >= since);
    for (let i = 0; i < recent.length; i += 200) {
      await this.publish(recent.slice(i, i + 200).map((b) => engine.get(b.batchId)));
    }
    return recent.length;
  }
}
