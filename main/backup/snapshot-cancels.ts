import type { Static } from '@sinclair/typebox';
import type { Database } from 'better-sqlite3';
import { PhError } from '../../contract/errors';
import type { BackupCancelSchema } from '../../contract/ops/backup';
import type { BackupProgress } from './types';

export type BackupCancel = Static<typeof BackupCancelSchema>;

interface Running {
  readonly controller: AbortController;
  cancelledBy: string | null;
}

/**
 * Snapshots an operator may stop (`backup.snapshot.cancel`). Each running snapshot of a source holds
 * an abort signal; the capture checks it after the image is taken and the store between chunks, and
 * a snapshot stopped before its manifest is written leaves no snapshot (the pages it stored are
 * shared or swept by the next prune). Each cancel is kept, with how far the snapshot had come, for
 * `backup.history`.
 */
export class SnapshotCancels {
  /** Per source: a snapshot running and any waiting for the repository behind it; a cancel stops them all. */
  readonly #running = new Map<string, Set<Running>>();

  constructor(private readonly db: Database) {}

  /** The signal a snapshot of `sourceId` runs under: the caller's (a job's), or an operator's cancel. */
  begin(sourceId: string, outer?: AbortSignal): { signal: AbortSignal; end: () => void } {
    const running: Running = { controller: new AbortController(), cancelledBy: null };
    const runs = this.#running.get(sourceId) ?? new Set<Running>();
    runs.add(running);
    this.#running.set(sourceId, runs);
    const signal = outer === undefined ? running.controller.signal : AbortSignal.any([outer, running.controller.signal]);
    return {
      signal,
      end: () => {
        runs.delete(running);
        if (runs.size === 0 && this.#running.get(sourceId) === runs) this.#running.delete(sourceId);
      },
    };
  }

  /**
   * Stops the snapshot of `sourceId` under way; `progress` is how far it had come, for the record.
   * The reason names the source by `sourceName`: it is what the snapshot's caller reads.
   */
  cancel(sourceId: string, sourceName: string, by: string, at: number, progress: BackupProgress | undefined): BackupCancel {
    const live = [...(this.#running.get(sourceId) ?? [])].filter((r) => r.cancelledBy === null);
    if (live.length === 0)
      throw new PhError('PH_BACKUP_NOT_RUNNING', `No snapshot of source ${JSON.stringify(sourceId)} is running`, { field: 'sourceId' });
    const record = {
      at,
      sourceId,
      by,
      phase: progress?.phase ?? 'queued',
      done: progress?.done ?? 0,
      total: progress?.total ?? 0,
    };
    const info = this.db
      .prepare('INSERT INTO backup_cancels (at, source_id, by, phase, done, total) VALUES (@at, @sourceId, @by, @phase, @done, @total)')
      .run(record);
    const reason = new PhError(
      'PH_BACKUP_CANCELLED',
      `The snapshot of ${sourceName} was cancelled by ${by} (${record.phase} ${record.done} of ${record.total})`,
    );
    for (const running of live) {
      running.cancelledBy = by;
      running.controller.abort(reason);
    }
    return { ...record, id: Number(info.lastInsertRowid), at: new Date(at).toISOString() };
  }

  list(limit: number): BackupCancel[] {
    const rows = this.db.prepare('SELECT * FROM backup_cancels ORDER BY id DESC LIMIT ?').all(limit) as {
      id: number;
      at: number;
      source_id: string;
      by: string;
      phase: string;
      done: number;
      total: number;
    }[];
    return rows.map((r) => ({
      id: r.id,
      at: new Date(r.at).toISOString(),
      sourceId: r.source_id,
      by: r.by,
      phase: r.phase,
      done: r.done,
      total: r.total,
    }));
  }
}
