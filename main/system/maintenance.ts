import { statSync } from 'node:fs';
import { PhError } from '../../contract/errors';
import type { JobContext, JobQueue } from '../batch';
import type { Clock } from '../clock';
import type { RetentionCut } from '../core';
import type { Logger } from '../logger';
import { reclaimFreePages, type Database } from '../store';

/** The job type that runs the retention cuts and hands freed pages back to the file system. */
export const MAINTENANCE_JOB = 'maintenance.run';

export interface MaintenanceReport {
  readonly at: string;
  readonly cuts: { name: string; removed: number }[];
  readonly freedPages: number;
  /** `pilothouse.db` and its WAL before and after, in bytes. */
  readonly bytesBefore: number;
  readonly bytesAfter: number;
}

/** History kept by a cap its capability enforces as it writes, not by the maintenance job. */
export interface CappedHistory {
  readonly name: string;
  readonly keeps: string;
}

export interface MaintenanceDeps {
  readonly db: Database;
  /** The database file: its size is reported before and after. */
  readonly dbPath: string;
  readonly cuts: readonly RetentionCut[];
  readonly capped: readonly CappedHistory[];
  /** Croner pattern of the daily run. */
  readonly cron: string;
  readonly clock: Clock;
  readonly logger: Logger;
}

/**
 * The node's maintenance: a job on the job queue (so it is scheduled, retried, watched and
 * cancelled like any other) that runs every retention cut in turn, then `PRAGMA incremental_vacuum`
 * in steps, so the database file shrinks by what was cut. Each node runs its own: its database is
 * its own (docs/fleet.md), so the job is placed on the node named in its payload.
 */
export class Maintenance {
  #last: MaintenanceReport | null = null;

  constructor(private readonly deps: MaintenanceDeps) {}

  register(queue: Pick<JobQueue, 'register'>): void {
    queue.register(MAINTENANCE_JOB, (_payload, ctx) => this.#runAsJob(ctx), {
      concurrency: 1,
      validatePayload: readNode,
      placement: { owner: (payload) => readNode(payload) },
    });
  }

  /** Queues the daily run on this node; a second call (the next start) finds the one already queued. */
  async schedule(queue: Pick<JobQueue, 'enqueue'>, node: string): Promise<void> {
    await queue.enqueue({
      type: MAINTENANCE_JOB,
      payload: { node },
      repeat: { cron: this.deps.cron },
      idempotencyKey: `maintenance:${node}`,
      attempts: 3,
    });
  }

  async run(progress: (fraction: number, message: string) => void, signal: AbortSignal): Promise<MaintenanceReport> {
    const bytesBefore = this.#bytes();
    const cuts: { name: string; removed: number }[] = [];
    // The cuts are most of the work; reclaiming the pages the rest.
    const steps = this.deps.cuts.length + 1;
    for (const [index, cut] of this.deps.cuts.entries()) {
      signal.throwIfAborted();
      progress(index / steps, `cutting ${cut.name} (keeps ${cut.keeps})`);
      const removed = await cut.run(this.deps.clock.now(), signal);
      cuts.push({ name: cut.name, removed });
    }
    progress((steps - 1) / steps, 'reclaiming free pages');
    const reclaimed = await reclaimFreePages(this.deps.db, {
      signal,
      onProgress: (done, total) => progress((steps - 1 + done / total) / steps, `reclaimed ${done} of ${total} free pages`),
    });
    const report: MaintenanceReport = {
      at: new Date(this.deps.clock.now()).toISOString(),
      cuts,
      freedPages: reclaimed.freedPages,
      bytesBefore,
      bytesAfter: this.#bytes(),
    };
    progress(1, `done: ${cuts.reduce((n, c) => n + c.removed, 0)} rows cut, ${reclaimed.freedPages} pages freed`);
    this.#last = report;
    return report;
  }

  /** What each cut keeps, what is capped as it is written, when the job runs, and its last run here. */
  view(): {
    schedule: string;
    cuts: { name: string; tables: string[]; keeps: string }[];
    capped: CappedHistory[];
    lastRun: MaintenanceReport | null;
  } {
    return {
      schedule: this.deps.cron,
      cuts: this.deps.cuts.map((c) => ({ name: c.name, tables: [...c.tables], keeps: c.keeps })),
      capped: [...this.deps.capped],
      lastRun: this.#last,
    };
  }

  async #runAsJob(ctx: JobContext): Promise<MaintenanceReport> {
    const report = await this.run((fraction, message) => ctx.progress(fraction, message), ctx.signal);
    for (const cut of report.cuts) ctx.log(`${cut.name}: ${cut.removed} rows cut`);
    ctx.log(`database: ${report.bytesBefore} bytes before, ${report.bytesAfter} after (${report.freedPages} pages freed)`);
    this.deps.logger.info({ cuts: report.cuts, bytesBefore: report.bytesBefore, bytesAfter: report.bytesAfter }, 'maintenance ran');
    return report;
  }

  #bytes(): number {
    const size = (path: string): number => {
      try {
        return statSync(path).size;
      } catch {
        return 0;
      }
    };
    return size(this.deps.dbPath) + size(`${this.deps.dbPath}-wal`);
  }
}

function readNode(payload: unknown): string {
  const { node } = (payload ?? {}) as { node?: unknown };
  if (typeof node !== 'string' || node === '')
    throw new PhError('PH_INVALID_INPUT', `${MAINTENANCE_JOB} takes { node: string }`, { field: 'node' });
  return node;
}
