import { randomBytes } from 'node:crypto';
import { existsSync, realpathSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { Cron } from 'croner';
import type { Database } from 'better-sqlite3';
import { PhError, faultOf } from '../../contract/errors';
import type { Clock } from '../clock';
import type { AuditRecord } from '../core';
import type { EventBus } from '../events';
import { newId } from '../fleet';
import type { Logger } from '../logger';
import type { Service, ServiceState } from '../service';
import { captureImage, probeSource, sourceError } from './capture';
import { BackupCatalogue, type SourceRecord } from './catalogue';
import type { ManifestHeader } from './manifest';
import { PageRepository } from './page-repository';
import { PageWorkers } from './page-workers';
import { BackupPathPolicy } from './path-policy';
import { pruneRepository } from './prune';
import { reassemble } from './reassembler';
import { RepoLock } from './repo-lock';
import { sweepRestoreLeftovers } from './restore-leftovers';
import { assertNotInUse, restoreFile } from './restorer';
import { parseDuration } from './retention';
import { removeImage, storeImage } from './snapshotter';
import type {
  BackupProgress,
  BackupPrune,
  BackupRestore,
  BackupRestorePlan,
  BackupSnapshot,
  BackupSource,
  BackupVerification,
  RestoreRequest,
  Retention,
} from './types';

export const APP_SOURCE_ID = 'app';

function realpathOr(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

export interface BackupServiceOptions {
  /** The app's store: the catalogue lives here, and it is itself the `app` source. */
  readonly db: Database;
  readonly appDbPath: string;
  /** `backup.roots`: folders under which sources may be registered and restores written (see BackupPathPolicy). */
  readonly roots: readonly string[];
  /** The repository folder (packs, manifests, index). */
  readonly repoDir: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly bus?: EventBus | null;
  /** Records scheduled work (no operator call behind it) in the audit log. */
  readonly audit?: (record: AuditRecord) => void;
  /** Page worker threads. Default: cores − 1, 1–4; snapshots use one fewer than the pool, at least 1 (see PageWorkers). */
  readonly workers?: number;
  /** Brotli quality for page blobs. Default 1. */
  readonly compressionLevel?: number;
  /** How long a locked source may block a snapshot. Default 5000 ms. */
  readonly busyTimeoutMs?: number;
  /** Schedule and retention of the app's own database. Defaults: daily at 03:00, 7 daily + 4 weekly. */
  readonly appSchedule?: string | null;
  readonly appRetention?: Retention;
  /** Prune plus the rolling verify of a seventh of the snapshots. Default daily at 04:15; null turns it off. */
  readonly maintenanceSchedule?: string | null;
  /** Share of snapshots the rolling verify checks each run. Default 1/7, so all of them within a week. */
  readonly rollingVerifyShare?: number;
  /**
   * Pacing of background snapshots (scheduled, continuous, missed): idle time per unit of busy time
   * between chunks. Default 1 (about twice as long, about half the CPU, so a busy writer on the
   * source keeps its latency). Manual and pre-restore snapshots, which someone waits on, are not paced.
   */
  readonly backgroundSnapshotPace?: number;
}

/**
 * Where source schedules live: the job queue's repeating `backup.snapshot` jobs (see backup-schedules.ts),
 * so backups ride the one scheduler jobs use and, with Redis, fire once fleet-wide on the owning node.
 */
export interface BackupScheduler {
  /** Sets a source's repeating snapshot to `cron`, or removes it (null). Idempotent. */
  set(sourceId: string, cron: string | null): Promise<void>;
  /** Sets this node's repeating maintenance (prune + rolling verify) to `cron`, or removes it (null). */
  setMaintenance(cron: string | null): Promise<void>;
}

/** A scheduled run that starts this long after it was due ran late (the node was down): a `missed` run. */
const MISSED_AFTER_MS = 60_000;

/** Triggers nobody is waiting on: their snapshots yield the CPU to the source's writers. */
const BACKGROUND_TRIGGERS: ReadonlySet<ManifestHeader['trigger']> = new Set(['schedule', 'continuous', 'missed']);

type JobKind = BackupProgress['kind'];
/** How far a long operation has come: `phase` (capture, store, pages, ...) and its `done` of `total` units. */
export type Report = (phase: string, done: number, total: number) => void;

function validateSchedule(expr: string | null | undefined): void {
  if (expr === null || expr === undefined) return;
  try {
    new Cron(expr, { paused: true }).stop();
  } catch (err) {
    throw new PhError('PH_BACKUP_SCHEDULE_INVALID', `"${expr}" is not a valid cron expression: ${(err as Error).message}`, {
      field: 'schedule',
    });
  }
}

/** A failure of the machine (a full disk, a permission), not of the snapshot: never recorded as damage. */
function environmentFault(err: unknown): PhError | null {
  const fault = faultOf(err);
  return fault !== null && (fault.code === 'PH_DISK_FULL' || fault.code === 'PH_PERMISSION_DENIED') ? fault : null;
}

const messageOf = (err: unknown): string =>
  err instanceof PhError ? `${err.code}: ${err.message}` : err instanceof Error ? err.message : String(err);

/**
 * The backup manager: registered sources, page-level snapshots into a content-addressed repository,
 * verification, restore (to a new file or in place, with a safety snapshot first), schedules,
 * continuous mode and retention. Heavy page work runs on worker threads; progress goes to the bus.
 */
export class BackupService implements Service {
  readonly name = 'backup';
  readonly repo: PageRepository;
  readonly catalogue: BackupCatalogue;
  readonly #workers: PageWorkers;
  readonly #lock = new RepoLock();
  readonly #paths: BackupPathPolicy;
  readonly #intervals = new Map<string, NodeJS.Timeout>();
  readonly #running = new Map<string, BackupProgress>();
  readonly #inflight = new Set<Promise<unknown>>();
  readonly #snapshotting = new Set<string>();
  /** Snapshots a running restore depends on: prune keeps them whatever retention says. */
  readonly #pinned = new Map<string, number>();
  #scheduler: BackupScheduler | null = null;
  #state: ServiceState = 'idle';
  #lastEmit = new Map<string, number>();

  constructor(private readonly options: BackupServiceOptions) {
    this.#workers = new PageWorkers(options.workers);
    this.repo = new PageRepository(options.repoDir, this.#workers, { compressionLevel: options.compressionLevel });
    this.catalogue = new BackupCatalogue(options.db);
    this.#paths = new BackupPathPolicy(options.roots);
  }

  // ── lifecycle ─────────────────────────────────────────────────────────────

  async start(): Promise<void> {
    this.#state = 'starting';
    try {
      this.repo.open();
      this.#reconcile();
      const leftovers = sweepRestoreLeftovers(this.repo.dir, [
        ...this.catalogue.sources().map((s) => s.path),
        ...this.catalogue.restores(1000).map((r) => r.target),
      ]);
      if (leftovers.length > 0) this.options.logger.info({ removed: leftovers }, 'removed temp files of restores that never finished');
      this.#ensureAppSource();
      for (const s of this.catalogue.sources()) this.#schedule(s);
      validateSchedule(this.#maintenanceSchedule);
      this.#state = 'running';
    } catch (err) {
      this.#state = 'failed';
      throw err;
    }
  }

  async stop(): Promise<void> {
    if (this.#state === 'stopped' || this.#state === 'idle') return;
    this.#state = 'stopping';
    for (const t of this.#intervals.values()) clearInterval(t);
    this.#intervals.clear();
    await Promise.allSettled([...this.#inflight]);
    await this.#workers.close();
    this.repo.close();
    this.#state = 'stopped';
  }

  status(): { state: ServiceState; detail?: string } {
    if (this.#state !== 'running') return { state: this.#state };
    const damaged = this.repo.damaged();
    if (damaged.length > 0)
      return {
        state: 'degraded',
        detail: `${damaged.length} damaged snapshots (${damaged
          .slice(0, 5)
          .map((d) => d.id)
          .join(', ')}): restore from another snapshot`,
      };
    return { state: 'running', detail: `${this.repo.listManifests().length} snapshots, ${this.#running.size} running` };
  }

  /**
   * Manifests are the truth; catalogue rows follow them after a crash between the two. A manifest
   * that no longer decodes keeps its row, with a failed verification saying why, so the snapshot
   * is listed as damaged instead of silently dropping out of the list.
   */
  #reconcile(): void {
    const headers = new Map(this.repo.listManifests().map((h) => [h.id, h]));
    const damaged = new Map(this.repo.damaged().map((d) => [d.id, d]));
    for (const id of this.catalogue.snapshotIds()) if (!headers.has(id) && !damaged.has(id)) this.catalogue.deleteSnapshot(id);
    for (const d of damaged.values()) {
      const row = this.catalogue.snapshot(d.id);
      if (row === undefined || row.lastVerification?.ok === false) continue;
      this.catalogue.insertVerification({
        snapshotId: d.id,
        sourceId: row.sourceId,
        at: this.options.clock.now(),
        ok: false,
        pagesChecked: 0,
        badPages: [],
        imageHashOk: false,
        integrity: [`the manifest ${d.file} is damaged: ${d.error}`],
        durationMs: 0,
      });
    }
    const known = new Set(this.catalogue.snapshotIds());
    for (const h of headers.values()) if (!known.has(h.id)) this.catalogue.insertSnapshot(h, { pages: 0, bytes: 0 }, 0);
  }

  #ensureAppSource(): void {
    if (this.catalogue.source(APP_SOURCE_ID) !== undefined) return;
    const schedule = this.options.appSchedule === undefined ? '0 3 * * *' : this.options.appSchedule;
    validateSchedule(schedule);
    this.catalogue.insertSource({
      id: APP_SOURCE_ID,
      name: 'Pilothouse database',
      path: this.options.appDbPath,
      kind: 'app',
      schedule,
      retention: this.options.appRetention ?? { keepDaily: 7, keepWeekly: 4 },
      continuousSeconds: null,
      createdAt: this.options.clock.now(),
    });
  }

  // ── scheduling ────────────────────────────────────────────────────────────

  /**
   * The job queue's scheduler takes over the sources' schedules (called once its job types are
   * registered): every source's repeating snapshot is set to what the catalogue says.
   */
  useScheduler(scheduler: BackupScheduler): void {
    this.#scheduler = scheduler;
    this.syncSchedules();
  }

  /** Sets every repeating job again (sources' and maintenance), e.g. after Redis came back empty and took them with it. */
  syncSchedules(): void {
    for (const s of this.catalogue.sources()) this.#syncSchedule(s.id, s.schedule);
    this.#track('maintenance', (scheduler) => scheduler.setMaintenance(this.#maintenanceSchedule));
  }

  get #maintenanceSchedule(): string | null {
    return this.options.maintenanceSchedule === undefined ? '15 4 * * *' : this.options.maintenanceSchedule;
  }

  #syncSchedule(sourceId: string, cron: string | null): void {
    this.#track(sourceId, (scheduler) => scheduler.set(sourceId, cron));
  }

  /** Not awaited by stop(): a queue call held up by a hung Redis must not hold up shutdown; the next sync repeats it. */
  #track(what: string, change: (scheduler: BackupScheduler) => Promise<void>): void {
    const scheduler = this.#scheduler;
    if (scheduler === null) return;
    change(scheduler).catch((err: unknown) => this.options.logger.warn({ err: messageOf(err), what }, 'backup schedule not updated'));
  }

  /** Continuous mode is an interval, not a calendar: it stays a timer of this node's. */
  #schedule(s: SourceRecord): void {
    clearInterval(this.#intervals.get(s.id));
    this.#intervals.delete(s.id);
    if (s.continuousSeconds !== null) {
      const timer = setInterval(() => {
        if (this.#snapshotting.has(s.id)) return; // the previous one is still running: skip, never pile up
        void this.#background(`continuous ${s.id}`, () => this.runScheduled(s.id, null));
      }, s.continuousSeconds * 1000);
      timer.unref();
      this.#intervals.set(s.id, timer);
    }
  }

  /**
   * A snapshot no operator asked for: `dueAt` is when its schedule was due (null for continuous
   * mode); one that starts more than MISSED_AFTER_MS late is recorded as `missed`. Audited as the scheduler.
   */
  async runScheduled(sourceId: string, dueAt: number | null, onProgress?: Report, signal?: AbortSignal): Promise<BackupSnapshot> {
    const trigger = dueAt === null ? 'continuous' : this.options.clock.now() - dueAt > MISSED_AFTER_MS ? 'missed' : 'schedule';
    try {
      const snapshot = await this.snapshot(sourceId, trigger, onProgress, signal);
      if (trigger !== 'continuous')
        this.options.audit?.({ actor: 'scheduler', action: 'backup.snapshot', target: sourceId, outcome: 'ok', detail: trigger });
      return snapshot;
    } catch (err) {
      this.options.audit?.({ actor: 'scheduler', action: 'backup.snapshot', target: sourceId, outcome: 'error', detail: messageOf(err) });
      throw err;
    }
  }

  #background(what: string, fn: () => Promise<unknown>): Promise<void> {
    if (this.#state !== 'running') return Promise.resolve();
    const p = fn().then(
      () => undefined,
      (err: unknown) => this.options.logger.warn({ err: messageOf(err) }, `backup ${what} failed`),
    );
    this.#inflight.add(p);
    void p.finally(() => this.#inflight.delete(p));
    return p;
  }

  /** When the source's schedule next fires, as the queue computes it (croner, from now); null without one. */
  nextRunOf(id: string): number | null {
    const schedule = this.catalogue.source(id)?.schedule ?? null;
    if (schedule === null) return null;
    return new Cron(schedule, { paused: true }).nextRun(new Date(this.options.clock.now()))?.getTime() ?? null;
  }

  // ── jobs and progress ─────────────────────────────────────────────────────

  async #job<T>(
    kind: JobKind,
    sourceId: string | null,
    snapshotId: string | null,
    fn: (report: Report) => Promise<T>,
    onProgress?: Report,
  ): Promise<T> {
    if (this.#state !== 'running') throw new PhError('PH_UNAVAILABLE', 'The backup service is not running');
    const jobId = `${kind}-${randomBytes(4).toString('hex')}`;
    const state: BackupProgress = { jobId, kind, sourceId, snapshotId, phase: 'queued', done: 0, total: 1 };
    this.#running.set(jobId, state);
    const bus = this.options.bus ?? null;
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
    this.#inflight.add(p);
    try {
      const result = await p;
      bus?.publish('backup.finished', { jobId, kind, sourceId, snapshotId: state.snapshotId, ok: true, error: null });
      return result;
    } catch (err) {
      bus?.publish('backup.finished', { jobId, kind, sourceId, snapshotId: state.snapshotId, ok: false, error: messageOf(err) });
      throw err;
    } finally {
      this.#inflight.delete(p);
      this.#running.delete(jobId);
      this.#lastEmit.delete(jobId);
    }
  }

  running(): BackupProgress[] {
    return [...this.#running.values()].map((p) => ({ ...p }));
  }

  // ── sources ───────────────────────────────────────────────────────────────

  listSources(): BackupSource[] {
    return this.catalogue.sources().map((s) => this.catalogue.toSourceDto(s, this.nextRunOf(s.id)));
  }

  getSource(id: string): SourceRecord {
    const s = this.catalogue.source(id);
    if (s === undefined) throw new PhError('PH_BACKUP_SOURCE_NOT_FOUND', `There is no backup source ${JSON.stringify(id)}`);
    return s;
  }

  /** Checks everything first (path, SQLite, lock, schedule, retention), then records it in one statement. */
  registerSource(input: {
    name: string;
    path: string;
    schedule?: string | null;
    retention?: Retention;
    continuousSeconds?: number | null;
  }): BackupSource {
    const path = this.#paths.source(input.path);
    const name = input.name.trim();
    validateSchedule(input.schedule);
    if (input.retention?.keepWithin !== undefined) parseDuration(input.retention.keepWithin);
    if (this.catalogue.sourceByNameOrPath(name, path) !== undefined) {
      throw new PhError('PH_BACKUP_SOURCE_EXISTS', `A source named ${JSON.stringify(name)} or at ${path} is already registered`);
    }
    if (path === realpathOr(this.options.appDbPath))
      throw new PhError('PH_BACKUP_SOURCE_EXISTS', 'The Pilothouse database is already the "app" source');
    probeSource(path, this.options.busyTimeoutMs ?? 5000);
    const id = `src-${newId()}`;
    try {
      this.catalogue.insertSource({
        id,
        name,
        path,
        kind: 'file',
        schedule: input.schedule ?? null,
        retention: input.retention ?? {},
        continuousSeconds: input.continuousSeconds ?? null,
        createdAt: this.options.clock.now(),
      });
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE')
        throw new PhError('PH_BACKUP_SOURCE_EXISTS', undefined, { cause: err });
      throw err;
    }
    const source = this.getSource(id);
    if (this.#state === 'running') this.#schedule(source);
    this.#syncSchedule(id, source.schedule);
    return this.catalogue.toSourceDto(source, this.nextRunOf(id));
  }

  updateSource(input: { id: string; schedule?: string | null; retention?: Retention; continuousSeconds?: number | null }): BackupSource {
    const s = this.getSource(input.id);
    validateSchedule(input.schedule);
    if (input.retention?.keepWithin !== undefined) parseDuration(input.retention.keepWithin);
    this.catalogue.updateSource(s.id, {
      schedule: input.schedule === undefined ? s.schedule : input.schedule,
      retention: input.retention ?? s.retention,
      continuousSeconds: input.continuousSeconds === undefined ? s.continuousSeconds : input.continuousSeconds,
    });
    const updated = this.getSource(s.id);
    if (this.#state === 'running') this.#schedule(updated);
    if (updated.schedule !== s.schedule) this.#syncSchedule(s.id, updated.schedule);
    return this.catalogue.toSourceDto(updated, this.nextRunOf(s.id));
  }

  removeSource(id: string): boolean {
    if (id === APP_SOURCE_ID)
      throw new PhError('PH_CONFLICT', 'The Pilothouse database cannot be removed; set its schedule to null instead');
    this.getSource(id);
    this.#syncSchedule(id, null);
    clearInterval(this.#intervals.get(id));
    this.#intervals.delete(id);
    return this.catalogue.removeSource(id);
  }

  // ── snapshot ──────────────────────────────────────────────────────────────

  /** With `signal`: a cancel before the manifest is written leaves no snapshot (pages stored so far are swept by prune). */
  async snapshot(
    sourceId: string,
    trigger: ManifestHeader['trigger'] = 'manual',
    onProgress?: Report,
    signal?: AbortSignal,
  ): Promise<BackupSnapshot> {
    const source = this.getSource(sourceId);
    return this.#job(
      'snapshot',
      source.id,
      null,
      (report) =>
        this.#lock.run('append', async () => {
          const started = performance.now();
          const image = `${this.repo.tempPath('capture')}.sqlite`;
          this.#snapshotting.add(source.id);
          this.catalogue.markRun(source.id, this.options.clock.now());
          try {
            // A source registered before the roots were narrowed is not read any more.
            const path = source.kind === 'app' ? source.path : this.#paths.source(source.path, 'id');
            await captureImage(path, image, this.#workers, {
              busyTimeoutMs: this.options.busyTimeoutMs,
              onProgress: (d, t) => report('capture', d, t),
            });
            signal?.throwIfAborted();
            const capturedAt = this.options.clock.now();
            const { manifest, written } = await storeImage(
              this.repo,
              image,
              { sourceId: source.id, sourceName: source.name, capturedAt, trigger },
              (d, t) => report('store', d, t),
              { idleRatio: BACKGROUND_TRIGGERS.has(trigger) ? (this.options.backgroundSnapshotPace ?? 1) : 0 },
              signal,
            );
            this.catalogue.insertSnapshot(manifest, { pages: written.addedPages, bytes: written.addedBytes }, performance.now() - started);
            this.catalogue.markSuccess(source.id, capturedAt);
            return this.catalogue.snapshot(manifest.id) as BackupSnapshot;
          } catch (err) {
            if (signal?.aborted === true) throw signal.reason;
            // A full disk or a permission is the machine's fault, not the source's: say so, never blame the source.
            const fault = environmentFault(err);
            const failure = fault ?? (err instanceof PhError ? err : sourceError(source.path, err));
            try {
              this.catalogue.markFailure(source.id, this.options.clock.now(), messageOf(failure));
            } catch (markErr) {
              this.options.logger.warn({ err: messageOf(markErr) }, 'backup failure could not be recorded');
            }
            throw fault !== null || err instanceof PhError || (err as { code?: string }).code?.startsWith('SQLITE') ? failure : err;
          } finally {
            this.#snapshotting.delete(source.id);
            removeImage(image);
          }
        }),
      onProgress,
    );
  }

  listSnapshots(sourceId?: string, limit = 200): BackupSnapshot[] {
    return this.catalogue.snapshots(sourceId, limit);
  }

  #header(id: string): ManifestHeader {
    const h = this.repo.header(id);
    if (h === undefined && this.repo.damaged().some((d) => d.id === id))
      throw new PhError('PH_BACKUP_DAMAGED', `The manifest of snapshot ${id} is damaged`, { details: { snapshotId: id } });
    if (h === undefined) throw new PhError('PH_BACKUP_NOT_FOUND', `There is no snapshot ${JSON.stringify(id)}`);
    return h;
  }

  // ── verify ────────────────────────────────────────────────────────────────

  /**
   * Rebuilds and checks a snapshot, and records the result. Nothing is recorded when `signal` is
   * aborted, or when the check itself could not run (a full disk, a permission): only damage found
   * in the snapshot is a failed verification.
   */
  async verify(snapshotId: string, onProgress?: Report, signal?: AbortSignal): Promise<BackupVerification> {
    const h = this.#header(snapshotId);
    return this.#job(
      'verify',
      h.sourceId,
      h.id,
      (report) =>
        this.#lock.run('read', async () => {
          const started = performance.now();
          const image = `${this.repo.tempPath('verify')}.sqlite`;
          try {
            let badPages: number[] = [];
            let imageHashOk = false;
            let integrity: string[];
            let pagesChecked = 0;
            try {
              const manifest = this.repo.readManifest(h.id);
              const r = await reassemble(this.repo, manifest, image, (d, t) => report('pages', d, t));
              badPages = r.badPages;
              pagesChecked = r.pagesChecked;
              imageHashOk = r.imageHash === manifest.imageHash;
              report('integrity_check', 0, 1);
              integrity = await this.#workers.integrityCheck(image).catch((err: unknown) => {
                const fault = environmentFault(err);
                if (fault !== null) throw fault;
                return [`integrity_check failed: ${messageOf(err)}`];
              });
            } catch (err) {
              if (signal?.aborted === true) throw signal.reason;
              const fault = environmentFault(err);
              if (fault !== null) throw fault;
              integrity = [`the snapshot could not be read: ${messageOf(err)}`];
            }
            signal?.throwIfAborted();
            const ok = badPages.length === 0 && imageHashOk && integrity.length === 1 && integrity[0] === 'ok';
            return this.catalogue.insertVerification({
              snapshotId: h.id,
              sourceId: h.sourceId,
              at: this.options.clock.now(),
              ok,
              pagesChecked,
              badPages: badPages.slice(0, 100),
              imageHashOk,
              integrity: integrity.slice(0, 20),
              durationMs: performance.now() - started,
            });
          } finally {
            removeImage(image);
          }
        }),
      onProgress,
    );
  }

  listVerifications(snapshotId?: string, limit = 200): BackupVerification[] {
    return this.catalogue.verifications(snapshotId, limit);
  }

  /** Verifies the share of snapshots verified least recently, so every one is checked within a week. */
  async rollingVerify(): Promise<BackupVerification[]> {
    const share = this.options.rollingVerifyShare ?? 1 / 7;
    const total = this.repo.listManifests().length;
    const ids = this.catalogue.leastRecentlyVerified(Math.ceil(total * share));
    const out: BackupVerification[] = [];
    for (const id of ids) {
      if (this.repo.header(id) === undefined) continue;
      const v = await this.verify(id);
      this.options.audit?.({ actor: 'scheduler', action: 'backup.verify', target: id, outcome: v.ok ? 'ok' : 'error' });
      out.push(v);
    }
    return out;
  }

  async maintenance(): Promise<void> {
    const { removedSnapshotIds } = await this.prune();
    this.options.audit?.({
      actor: 'scheduler',
      action: 'backup.prune',
      target: null,
      outcome: 'ok',
      detail: `${removedSnapshotIds.length} snapshots removed`,
    });
    await this.rollingVerify();
  }

  // ── restore ───────────────────────────────────────────────────────────────

  #choose(req: RestoreRequest): ManifestHeader {
    if (req.snapshotId !== undefined) return this.#header(req.snapshotId);
    if (req.sourceId === undefined)
      throw new PhError('PH_INVALID_INPUT', 'Give a snapshotId, or a sourceId (with an optional at)', { field: 'snapshotId' });
    const at = req.at === undefined ? Number.POSITIVE_INFINITY : Date.parse(req.at);
    const candidates = this.repo.listManifests().filter((h) => h.sourceId === req.sourceId && h.capturedAt <= at);
    const newest = candidates.at(-1);
    if (newest === undefined)
      throw new PhError('PH_BACKUP_NO_SNAPSHOT', `Source ${req.sourceId} has no snapshot at or before ${req.at ?? 'now'}`);
    return newest;
  }

  #target(h: ManifestHeader, req: RestoreRequest): { target: string; inPlace: boolean; source: SourceRecord | null } {
    if (req.inPlace === true) {
      if (req.targetPath !== undefined)
        throw new PhError('PH_BACKUP_TARGET_INVALID', 'Give either inPlace or targetPath, not both', { field: 'targetPath' });
      const source = this.catalogue.source(h.sourceId);
      if (source === undefined)
        throw new PhError('PH_BACKUP_TARGET_INVALID', 'The snapshot’s source is no longer registered; restore to a new path');
      if (source.kind === 'app') {
        throw new PhError(
          'PH_BACKUP_TARGET_IN_USE',
          'Pilothouse has its own database open; restore it to a new path and start Pilothouse on that copy',
        );
      }
      return { target: this.#paths.inPlaceTarget(source.path), inPlace: true, source };
    }
    if (req.targetPath === undefined)
      throw new PhError('PH_BACKUP_TARGET_INVALID', 'Give a targetPath, or inPlace: true', { field: 'targetPath' });
    const target = this.#paths.newTarget(req.targetPath);
    return { target, inPlace: false, source: this.catalogue.source(h.sourceId) ?? null };
  }

  planRestore(req: RestoreRequest): BackupRestorePlan {
    const h = this.#choose(req);
    const { target, inPlace } = this.#target(h, req);
    const snapshot = this.catalogue.snapshot(h.id) as BackupSnapshot;
    const steps = [
      ...(inPlace ? [`take a safety snapshot of ${target} as it is now`] : []),
      `rebuild snapshot ${h.id} (${new Date(h.capturedAt).toISOString()}, ${h.pageCount} pages) into a temp file beside ${target}`,
      'check every page hash, the whole-image hash and PRAGMA integrity_check',
      ...(inPlace
        ? [`checkpoint ${basename(target)} and remove its -wal and -shm files`]
        : [`remove any stale -wal/-shm beside ${basename(target)}`]),
      `rename the temp file over ${target} (atomic)`,
    ];
    return { snapshot, target, inPlace, safetySnapshot: inPlace, steps };
  }

  async restore(req: RestoreRequest): Promise<BackupRestore> {
    const h = this.#choose(req);
    const { target, inPlace, source } = this.#target(h, req);
    this.#pin(h.id);
    const started = performance.now();
    let safetySnapshotId: string | null = null;
    try {
      return await this.#job('restore', h.sourceId, h.id, async (report) => {
        // Checked before the safety snapshot so a busy target costs nothing; checked again at the swap.
        if (inPlace && req.force !== true && existsSync(target)) assertNotInUse(target);
        if (inPlace && source !== null && existsSync(target)) {
          report('safety snapshot', 0, 1);
          safetySnapshotId = (await this.snapshot(source.id, 'safety')).id;
        }
        await this.#lock.run('read', () => restoreFile(this.repo, this.#workers, h, target, inPlace, report, req.force === true));
        return this.catalogue.insertRestore({
          snapshotId: h.id,
          sourceId: h.sourceId,
          target,
          inPlace,
          safetySnapshotId,
          at: this.options.clock.now(),
          ok: true,
          error: null,
          durationMs: performance.now() - started,
        });
      });
    } catch (err) {
      this.catalogue.insertRestore({
        snapshotId: h.id,
        sourceId: h.sourceId,
        target,
        inPlace,
        safetySnapshotId,
        at: this.options.clock.now(),
        ok: false,
        error: messageOf(err),
        durationMs: performance.now() - started,
      });
      throw err;
    } finally {
      this.#unpin(h.id);
    }
  }

  #pin(id: string): void {
    this.#pinned.set(id, (this.#pinned.get(id) ?? 0) + 1);
  }

  #unpin(id: string): void {
    const n = (this.#pinned.get(id) ?? 1) - 1;
    if (n <= 0) this.#pinned.delete(id);
    else this.#pinned.set(id, n);
  }

  /** Rebuilds a snapshot into a temp file for download; the caller streams it and then calls `done`. */
  async exportImage(snapshotId: string): Promise<{ path: string; fileName: string; done: () => void }> {
    const h = this.#header(snapshotId);
    const path = `${this.repo.tempPath('export')}.sqlite`;
    this.#pin(h.id);
    try {
      await this.#lock.run('read', async () => {
        const { badPages } = await reassemble(this.repo, this.repo.readManifest(h.id), path);
        if (badPages.length > 0)
          throw new PhError('PH_BACKUP_VERIFY_FAILED', `${badPages.length} pages of ${h.id} failed their hash check`);
      });
    } catch (err) {
      removeImage(path);
      throw err;
    } finally {
      this.#unpin(h.id);
    }
    const stamp = new Date(h.capturedAt).toISOString().replace(/[:.]/g, '-');
    return { path, fileName: `${h.sourceName.replace(/[^\w.-]+/g, '_')}-${stamp}.sqlite`, done: () => removeImage(path) };
  }

  // ── prune ─────────────────────────────────────────────────────────────────

  /** Applies each source's retention, deletes the manifests it drops, then sweeps pages no kept snapshot names. */
  async prune(): Promise<{ prune: BackupPrune; removedSnapshotIds: string[] }> {
    return this.#job('prune', null, null, (report) =>
      this.#lock.run('prune', async () => {
        const now = this.options.clock.now();
        report('prune', 0, 1);
        const { removed, swept } = await pruneRepository(
          this.repo,
          (sourceId) => this.catalogue.source(sourceId)?.retention ?? {},
          now,
          new Set(this.#pinned.keys()),
          (id) => this.catalogue.deleteSnapshot(id),
        );
        report('prune', 1, 1);
        const prune = this.catalogue.insertPrune({
          at: now,
          removedSnapshots: removed.length,
          removedPages: swept.removedPages,
          freedBytes: swept.freedBytes,
        });
        return { prune, removedSnapshotIds: removed };
      }),
    );
  }

  history(limit = 50): { restores: BackupRestore[]; prunes: BackupPrune[] } {
    return { restores: this.catalogue.restores(limit), prunes: this.catalogue.prunes(limit) };
  }

  repositoryStats(): { path: string; pages: number; packs: number; storedBytes: number; snapshots: number } {
    return { path: this.repo.dir, ...this.repo.stats() };
  }
}
