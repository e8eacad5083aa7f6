import { dirname, join } from 'node:path';
import { PhError } from '../../contract/errors';
import type { Service, ServiceState } from '../service';
import type { BackupParts, BackupServiceOptions, BackupWork } from './backup-options';
import { messageOf } from './backup-faults';
import { BackupJobs, type Report, type RunJob } from './backup-progress';
import { type BackupScheduler, nextRunOf, scheduledTrigger, validateSchedule } from './backup-schedules';
import { BackupCatalogue, type SourceRecord } from './catalogue';
import type { ManifestHeader } from './manifest';
import { PageRepository } from './page-repository';
import { PageWorkers } from './page-workers';
import { BackupPathPolicy } from './path-policy';
import { RepoLock } from './repo-lock';
import { sweepRestoreLeftovers } from './restore-leftovers';
import { SnapshotPins, readHeader } from './restore-flow';
import { exportSnapshotImage, planRestore, restoreSnapshot } from './restore-runs';
import { pruneByRetention, verifyRollingShare } from './repository-upkeep';
import { ScheduleSync } from './schedule-sync';
import { captureSnapshot, verifySnapshot } from './snapshot-work';
import { APP_SOURCE_ID, applySourceChange, ensureAppSource, insertNewSource, type NewSource, type SourceChange } from './source-registry';
import { RepoKeyring, type KeyStatus } from './repo-keyring';
import { damageDetail } from './repository-damage';
import { openRepository } from './repo-open';
import type { ReplicaManager } from './replica-manager';
import { replicaManagerFor } from './replica-setup';
import { SnapshotCancels, type BackupCancel } from './snapshot-cancels';
import type {
  BackupProgress,
  BackupPrune,
  BackupRestore,
  BackupRestorePlan,
  BackupSnapshot,
  BackupSource,
  BackupVerification,
  RestoreRequest,
} from './types';

export type { BackupServiceOptions } from './backup-options';
export type { Report } from './backup-progress';

/** A scheduled snapshot counts as overdue this long after its due time: the run itself takes a while. */
export const OVERDUE_GRACE_MS = 15 * 60_000;

/**
 * The backup manager: registered sources, page-level snapshots into a content-addressed repository,
 * verification, restore (to a new file or in place, with a safety snapshot first), schedules,
 * continuous mode and retention. Heavy page work runs on worker threads; progress goes to the bus.
 * The work itself lives beside it (snapshot-work, restore-runs, repository-upkeep, source-registry,
 * repo-open, replica-setup, schedule-sync, backup-progress); this class owns the state: lifecycle,
 * the repository lock, the key, pins and what is in flight, and is the one surface of them all.
 */
export class BackupService implements Service {
  readonly name = 'backup';
  readonly repo: PageRepository;
  readonly catalogue: BackupCatalogue;
  readonly #workers: PageWorkers;
  readonly #lock = new RepoLock();
  readonly #paths: BackupPathPolicy;
  readonly #parts: BackupParts;
  readonly #inflight = new Set<Promise<unknown>>();
  readonly #jobs: BackupJobs;
  readonly #snapshotting = new Set<string>();
  readonly #cancels: SnapshotCancels;
  readonly #pins = new SnapshotPins();
  readonly #schedules: ScheduleSync;
  readonly #work: BackupWork;
  #state: ServiceState = 'idle';
  readonly #keyring: RepoKeyring;
  readonly replicas: ReplicaManager;

  constructor(private readonly options: BackupServiceOptions) {
    this.#workers = new PageWorkers(options.workers);
    this.repo = new PageRepository(options.repoDir, this.#workers, {
      compressionLevel: options.compressionLevel,
      ...(options.packTargetBytes === undefined ? {} : { packTargetBytes: options.packTargetBytes }),
    });
    this.catalogue = new BackupCatalogue(options.db);
    this.#cancels = new SnapshotCancels(options.db);
    this.#paths = new BackupPathPolicy(options.roots, () => options.pickedRoots?.folders ?? [], options.dataDir ?? null);
    this.#parts = { repo: this.repo, workers: this.#workers, catalogue: this.catalogue, paths: this.#paths, options };
    this.#jobs = new BackupJobs(options.bus ?? null, this.#inflight);
    this.#schedules = new ScheduleSync({
      logger: options.logger,
      maintenanceSchedule: options.maintenanceSchedule,
      continuous: (sourceId) => {
        if (this.#snapshotting.has(sourceId)) return; // the previous one is still running: skip, never pile up
        void this.#background(`continuous ${sourceId}`, () => this.runScheduled(sourceId, null));
      },
    });
    this.#work = { ...this.#parts, lock: this.#lock, pins: this.#pins, job: this.#job };
    this.#keyring = new RepoKeyring(options.keyFile ?? join(dirname(options.repoDir), 'secrets', 'backup-repository.key'));
    this.replicas = replicaManagerFor(this.#parts, this.#keyring, this.#lock);
  }

  // ── lifecycle ─────────────────────────────────────────────────────────────

  async start(): Promise<void> {
    this.#state = 'starting';
    try {
      await openRepository(this.#parts, this.#keyring, this.options.passphrase ?? null);
      const leftovers = sweepRestoreLeftovers(this.repo.dir, [
        ...this.catalogue.sources().map((s) => s.path),
        ...this.catalogue.restores(1000).map((r) => r.target),
      ]);
      if (leftovers.length > 0) this.options.logger.info({ removed: leftovers }, 'removed temp files of restores that never finished');
      ensureAppSource(this.catalogue, this.options);
      for (const s of this.catalogue.sources()) this.#schedules.arm(s);
      validateSchedule(this.#schedules.maintenanceSchedule);
      this.#state = 'running';
    } catch (err) {
      this.#state = 'failed';
      throw err;
    }
  }

  // ── the repository key (repo-keyring.ts) ──────────────────────────────────

  keyStatus(): KeyStatus {
    return this.#keyring.status(this.repo);
  }

  /** Unwraps the key with its passphrase and opens the repository (PH_BACKUP_KEY_WRONG for a wrong one). */
  async unlockKey(passphrase: string): Promise<KeyStatus> {
    if (this.#keyring.locked) await openRepository(this.#parts, this.#keyring, passphrase);
    return this.keyStatus();
  }

  setKeyPassphrase(current: string | null, next: string | null): KeyStatus {
    this.#keyring.setPassphrase(current, next);
    return this.keyStatus();
  }

  /** For safekeeping off the machine (the operation is admin-only and audited). */
  exportKey(): { keyId: string; masterKey: string } {
    return this.#keyring.export();
  }

  async stop(): Promise<void> {
    if (this.#state === 'stopped' || this.#state === 'idle') return;
    this.#state = 'stopping';
    this.#schedules.stop();
    await Promise.allSettled([...this.#inflight]);
    await this.#workers.close();
    this.repo.close();
    this.#state = 'stopped';
  }

  status(): { state: ServiceState; detail?: string } {
    if (this.#state !== 'running') return { state: this.#state };
    if (this.#keyring.locked)
      return { state: 'degraded', detail: 'the repository key is locked: unlock it with its passphrase (backup.key.unlock)' };
    const damage = damageDetail(this.#parts);
    if (damage !== null) return { state: 'degraded', detail: damage };
    return { state: 'running', detail: `${this.repo.listManifests().length} snapshots, ${this.#jobs.size} running` };
  }

  // ── scheduling ────────────────────────────────────────────────────────────

  /**
   * The job queue's scheduler takes over the sources' schedules (called once its job types are
   * registered): every source's repeating snapshot is set to what the catalogue says.
   */
  useScheduler(scheduler: BackupScheduler): void {
    this.#schedules.useScheduler(scheduler, this.catalogue.sources());
  }

  /** Sets every repeating job again (sources' and maintenance), e.g. after Redis came back empty and took them with it. */
  syncSchedules(): void {
    this.#schedules.syncAll(this.catalogue.sources());
  }

  /**
   * A snapshot no operator asked for: `dueAt` is when its schedule was due (null for continuous
   * mode); one that starts more than a minute late is recorded as `missed`. Audited as the scheduler.
   */
  async runScheduled(sourceId: string, dueAt: number | null, onProgress?: Report, signal?: AbortSignal): Promise<BackupSnapshot> {
    const trigger = scheduledTrigger(dueAt, this.options.clock.now());
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

  /**
   * How far the most overdue scheduled source is past the first run its schedule owed after its last
   * good snapshot (or its registration), beyond `OVERDUE_GRACE_MS` for the run itself; 0 when none
   * is, null when no source has a schedule. The `backup-overdue` alert rule reads it.
   */
  overdueSeconds(): number | null {
    const now = this.options.clock.now();
    let worst: number | null = null;
    for (const source of this.catalogue.sources()) {
      const due = nextRunOf(source.schedule, source.lastSuccessAt ?? source.createdAt);
      if (due === null) continue;
      worst = Math.max(worst ?? 0, Math.floor(Math.max(0, now - due - OVERDUE_GRACE_MS) / 1000));
    }
    return worst;
  }

  /** When the source's schedule next fires, as the queue computes it (croner, from now); null without one. */
  nextRunOf(id: string): number | null {
    return nextRunOf(this.catalogue.source(id)?.schedule ?? null, this.options.clock.now());
  }

  // ── jobs and progress ─────────────────────────────────────────────────────

  readonly #job: RunJob = (kind, sourceId, snapshotId, fn, onProgress, madeSnapshot) => {
    if (this.#state !== 'running') return Promise.reject(new PhError('PH_UNAVAILABLE', 'The backup service is not running'));
    if (this.#keyring.locked)
      return Promise.reject(new PhError('PH_BACKUP_KEY_LOCKED', 'The backup repository key is locked: unlock it first'));
    return this.#jobs.run(kind, sourceId, snapshotId, fn, onProgress, madeSnapshot);
  };

  running(): BackupProgress[] {
    return this.#jobs.running();
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
  registerSource(input: NewSource): BackupSource {
    const id = insertNewSource(this.#parts, input);
    const source = this.getSource(id);
    if (this.#state === 'running') this.#schedules.arm(source);
    this.#schedules.setSchedule(id, source.schedule);
    return this.catalogue.toSourceDto(source, this.nextRunOf(id));
  }

  updateSource(input: SourceChange): BackupSource {
    const s = this.getSource(input.id);
    applySourceChange(this.catalogue, s, input);
    const updated = this.getSource(s.id);
    if (this.#state === 'running') this.#schedules.arm(updated);
    if (updated.schedule !== s.schedule) this.#schedules.setSchedule(s.id, updated.schedule);
    return this.catalogue.toSourceDto(updated, this.nextRunOf(s.id));
  }

  removeSource(id: string): boolean {
    if (id === APP_SOURCE_ID)
      throw new PhError('PH_CONFLICT', 'The Pilothouse database cannot be removed; set its schedule to null instead');
    this.getSource(id);
    this.#schedules.setSchedule(id, null);
    this.#schedules.disarm(id);
    return this.catalogue.removeSource(id);
  }

  // ── snapshot and verify ───────────────────────────────────────────────────

  /** With `signal`: a cancel before the manifest is written leaves no snapshot (pages stored so far are swept by prune). */
  async snapshot(
    sourceId: string,
    trigger: ManifestHeader['trigger'] = 'manual',
    onProgress?: Report,
    signal?: AbortSignal,
  ): Promise<BackupSnapshot> {
    const source = this.getSource(sourceId);
    const run = this.#cancels.begin(source.id, signal);
    return this.#job(
      'snapshot',
      source.id,
      null,
      (report) =>
        this.#lock.run('append', async () => {
          run.signal.throwIfAborted();
          this.#snapshotting.add(source.id);
          try {
            return await captureSnapshot(this.#parts, source, trigger, report, run.signal);
          } finally {
            this.#snapshotting.delete(source.id);
          }
        }),
      onProgress,
      (snapshot) => snapshot.id,
    )
      .finally(run.end)
      .then((snapshot) => {
        // Each replica gets what it lacks; a replica that is down is recorded as failed and lagging.
        if (this.replicas.list().length > 0) void this.#background('replication', () => this.replicas.afterSnapshot());
        return snapshot;
      });
  }

  listSnapshots(sourceId?: string, limit = 200, offset = 0): BackupSnapshot[] {
    return this.catalogue.snapshots(sourceId, limit, offset);
  }

  countSnapshots(sourceId?: string): number {
    return this.catalogue.countSnapshots(sourceId);
  }

  /**
   * Rebuilds and checks a snapshot, and records the result. Nothing is recorded when `signal` is
   * aborted, or when the check itself could not run (a full disk, a permission): only damage found
   * in the snapshot is a failed verification.
   */
  async verify(snapshotId: string, onProgress?: Report, signal?: AbortSignal): Promise<BackupVerification> {
    // A damaged manifest (garbled or gone) is verified too: the finding is a failed verification, not a refusal.
    const row = this.catalogue.snapshot(snapshotId);
    const h =
      this.repo.header(snapshotId) ??
      (row !== undefined && this.repo.damaged().some((d) => d.id === snapshotId)
        ? { id: snapshotId, sourceId: row.sourceId }
        : readHeader(this.repo, snapshotId));
    return this.#job(
      'verify',
      h.sourceId,
      h.id,
      (report) => this.#lock.run('read', () => verifySnapshot(this.#parts, h, report, signal)),
      onProgress,
    );
  }

  listVerifications(snapshot?: string | readonly string[], limit = 200): BackupVerification[] {
    return this.catalogue.verifications(snapshot, limit);
  }

  /** Verifies the share of snapshots verified least recently, so every one is checked within a week. */
  rollingVerify(): Promise<BackupVerification[]> {
    return verifyRollingShare(this.#parts, (id) => this.verify(id));
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
    await this.replicas.syncAll();
    await this.replicas.verifyAll();
  }

  // ── restore ───────────────────────────────────────────────────────────────

  planRestore(req: RestoreRequest): BackupRestorePlan {
    return planRestore(this.#parts, req);
  }

  /** In place, a safety snapshot of the source is taken first (restore-runs.ts). */
  restore(req: RestoreRequest): Promise<BackupRestore> {
    return restoreSnapshot(this.#work, req, async (sourceId) => (await this.snapshot(sourceId, 'safety')).id);
  }

  /** Rebuilds a snapshot into a temp file for download; the caller streams it and then calls `done`. */
  exportImage(snapshotId: string): Promise<{ path: string; fileName: string; done: () => void }> {
    return exportSnapshotImage(this.#work, snapshotId);
  }

  // ── prune ─────────────────────────────────────────────────────────────────

  /** Applies each source's retention, deletes the manifests it drops, then sweeps pages no kept snapshot names. */
  prune(): Promise<{ prune: BackupPrune; removedSnapshotIds: string[] }> {
    return pruneByRetention(this.#work);
  }

  /** Stops the snapshot of `sourceId` under way on this node; it leaves no snapshot. */
  cancelSnapshot(sourceId: string, by: string): BackupCancel {
    const progress = this.#jobs.running().find((p) => p.kind === 'snapshot' && p.sourceId === sourceId);
    const name = this.catalogue.source(sourceId)?.name ?? sourceId;
    return this.#cancels.cancel(sourceId, name, by, this.options.clock.now(), progress);
  }

  history(limit = 50): { restores: BackupRestore[]; prunes: BackupPrune[]; cancelled: BackupCancel[] } {
    return { restores: this.catalogue.restores(limit), prunes: this.catalogue.prunes(limit), cancelled: this.#cancels.list(limit) };
  }

  repositoryStats(): { path: string; pages: number; packs: number; storedBytes: number; snapshots: number } {
    if (this.#keyring.locked) return { path: this.repo.dir, pages: 0, packs: 0, storedBytes: 0, snapshots: 0 };
    return { path: this.repo.dir, ...this.repo.stats() };
  }
}
