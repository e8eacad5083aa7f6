import { randomBytes } from 'node:crypto';
import { PhError } from '../../contract/errors';
import type { EventBus } from '../events';
import { messageOf } from './backup-faults';
import type { BackupProgress } from './types';

type JobKind = BackupProgress['kind'];
/** How far a long operation has come: `phase` (capture, store, pages, ...) and its `done` of `total` units. */
export type Report = (phase: string, done: number, total: number) => void;

/**
 * Runs a long operation as one of the service's jobs: refused unless the service is running and its
 * key unlocked. `madeSnapshot` reads the id of the snapshot the job made from its result (a snapshot
 * has no id until it is written), for the `backup.finished` event.
 */
export type RunJob = <T>(
  kind: JobKind,
  sourceId: string | null,
  snapshotId: string | null,
  fn: (report: Report) => Promise<T>,
  onProgress?: Report,
  madeSnapshot?: (result: T) => string,
) => Promise<T>;

/**
 * The long operations under way (snapshot, verify, restore, prune) and their progress on the bus:
 * `backup.progress` at most every 100 ms per job (a phase change or the end always goes out), then
 * one `backup.finished`: ok, failed, or (an operator's `backup.snapshot.cancel`) cancelled, which
 * is not ok but no failure either.
 */
export class BackupJobs {
  readonly #running = new Map<string, BackupProgress>();
  readonly #lastEmit = new Map<string, number>();

  /** `inflight` is the service's: stop() waits for what is in it. */
  constructor(
    private readonly bus: EventBus | null,
    private readonly inflight: Set<Promise<unknown>>,
  ) {}

  async run<T>(
    kind: JobKind,
    sourceId: string | null,
    snapshotId: string | null,
    fn: (report: Report) => Promise<T>,
    onProgress?: Report,
    madeSnapshot?: (result: T) => string,
  ): Promise<T> {
    const jobId = `${kind}-${randomBytes(4).toString('hex')}`;
    const state: BackupProgress = { jobId, kind, sourceId, snapshotId, phase: 'queued', done: 0, total: 1 };
    this.#running.set(jobId, state);
    const bus = this.bus;
    const report: Report = (phase, done, total) => {
      const changed = phase !== state.phase;
      Object.assign(state, { phase, done, total });
      const now = Date.now();
      if (!changed && done < total && now - (this.#lastEmit.get(jobId) ?? 0) < 100) return;
      this.#lastEmit.set(jobId, now);
      bus?.publish('backup.progress', { ...state });
      onProgress?.(phase, done, total);
    };
    report('started', 0, 1);
    const p = fn(report);
    this.inflight.add(p);
    try {
      const result = await p;
      const made = madeSnapshot?.(result) ?? state.snapshotId;
      bus?.publish('backup.finished', { jobId, kind, sourceId, snapshotId: made, ok: true, cancelled: false, error: null });
      return result;
    } catch (err) {
      const cancelled = err instanceof PhError && err.code === 'PH_BACKUP_CANCELLED';
      bus?.publish('backup.finished', { jobId, kind, sourceId, snapshotId: state.snapshotId, ok: false, cancelled, error: messageOf(err) });
      throw err;
    } finally {
      this.inflight.delete(p);
      this.#running.delete(jobId);
      this.#lastEmit.delete(jobId);
    }
  }

  get size(): number {
    return this.#running.size;
  }

  running(): BackupProgress[] {
    return [...this.#running.values()].map((p) => ({ ...p }));
  }
}
