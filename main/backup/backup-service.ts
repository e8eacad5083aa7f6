import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PhError } from '../../contract/errors';
import type { Service, ServiceState } from '../service';
import type { BackupParts, BackupServiceOptions } from './backup-options';
import { messageOf } from './backup-faults';
import { BackupJobs, type Report } from './backup-progress';
import { type BackupScheduler, nextRunOf, scheduledTrigger, validateSchedule } from './backup-schedules';
import { BackupCatalogue, type SourceRecord } from './catalogue';
import { reconcileCatalogue } from './catalogue-reconcile';
import type { ManifestHeader } from './manifest';
import { PageRepository } from './page-repository';
import { PageWorkers } from './page-workers';
import { BackupPathPolicy } from './path-policy';
import { pruneRepository } from './prune';
import { reassemble } from './reassembler';
import { RepoLock } from './repo-lock';
import { sweepRestoreLeftovers } from './restore-leftovers';
import { SnapshotPins, chooseSnapshot, exportFileName, readHeader, restoreSteps, restoreTarget } from './restore-flow';
import { assertNotInUse, restoreFile } from './restorer';
import { captureSnapshot, verifySnapshot } from './snapshot-work';
import { APP_SOURCE_ID, ensureAppSource, insertNewSource, type NewSource } from './source-registry';
import { parseDuration } from './retention';
import { RepoKeyring, type KeyStatus } from './repo-keyring';
import { migrateToEncrypted } from './repo-migrate';
import { ReplicaManager } from './replica-manager';
import { ReplicaStore } from './replica-store';
import { SnapshotCancels, type BackupCancel } from './snapshot-cancels';
import { removeImage } from './snapshotter';
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

export type { BackupServiceOptions } from './backup-options';
export type { Report } from './backup-progress';

/**
 * The backup manager: registered sources, page-level snapshots into a content-addressed repository,
 * verification, restore (to a new file or in place, with a safety snapshot first), schedules,
 * continuous mode and retention. Heavy page work runs on worker threads; progress goes to the bus.
 * The work itself lives beside it (snapshot-work, restore-flow, source-registry, backup-progress);
 * this class owns the state: lifecycle, the repository lock, timers, pins and what is in flight.
 */
export class BackupService implements Service {
  readonly name = 'backup';
  readonly repo: PageRepository;
  readonly catalogue: BackupCatalogue;
  readonly #workers: PageWorkers;
  readonly #lock = new RepoLock();
  readonly #paths: BackupPathPolicy;
  readonly #parts: BackupParts;
  readonly #intervals = new Map<string, NodeJS.Timeout>();
  readonly #inflight = new Set<Promise<unknown>>();
  readonly #jobs: BackupJobs;
  readonly #snapshotting = new Set<string>();
  readonly #cancels: SnapshotCancels;
  readonly #pins = new SnapshotPins();
  #scheduler: BackupScheduler | null = null;
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
    this.#paths = new BackupPathPolicy(options.roots, () => options.pickedRoots?.folders ?? []);
    this.#parts = { repo: this.repo, workers: this.#workers, catalogue: this.catalogue, paths: this.#paths, options };
    this.#jobs = new BackupJobs(options.bus ?? null, this.#inflight);
    this.#keyring = new RepoKeyring(options.keyFile ?? join(dirname(options.repoDir), 'secrets', 'backup-repository.key'));
    this.replicas = new ReplicaManager({
      repo: () => this.repo,
      store: new ReplicaStore(options.db, join(dirname(this.#keyring.file.path), 'backup-replicas')),
      lock: (mode, fn) => {
        if (this.#keyring.locked)
          return Promise.reject(new PhError('PH_BACKUP_KEY_LOCKED', 'The backup repository key is locked: unlock it first'));
        return this.#lock.run(mode, fn);
      },
      now: () => options.clock.now(),
      folderRoots: options.replicaRoots ?? options.roots,
      allowCidrs: options.replicaAllowCidrs ?? [],
      ownHttpPort: options.ownHttpPort ?? (() => null),
      redis: options.redisTarget ?? null,
      ...(options.replicaLookup === undefined ? {} : { lookup: options.replicaLookup }),
      peerSeal: options.peerSeal ?? null,
      reconcile: () => reconcileCatalogue(this.repo, this.catalogue, options.clock.now()),
    });
  }

  // ── lifecycle ─────────────────────────────────────────────────────────────

  async start(): Promise<void> {
    this.#state = 'starting';
    try {
      await this.#openRepository(this.options.passphrase ?? null);
      const leftovers = sweepRestoreLeftovers(this.repo.dir, [
        ...this.catalogue.sources().map((s) => s.path),
        ...this.catalogue.restores(1000).map((r) => r.target),
      ]);
      if (leftovers.length > 0) this.options.logger.info({ removed: leftovers }, 'removed temp files of restores that never finished');
      ensureAppSource(this.catalogue, this.options);
      for (const s of this.catalogue.sources()) this.#schedule(s);
      validateSchedule(this.#maintenanceSchedule);
      this.#state = 'running';
    } catch (err) {
      this.#state = 'failed';
      throw err;
    }
  }

  /**
   * Loads the key (made on first start), opens the repository with it and finishes encrypting a
   * plain (or half-migrated) one before anything else touches it. A passphrase-wrapped key without
   * its passphrase leaves the service up but locked: every repository operation refuses until `unlockKey`.
   */
  async #openRepository(passphrase: string | null): Promise<void> {
    const keys = this.#keyring.load(this.options.encryption !== false, passphrase);
    if (keys === 'locked') {
      this.options.logger.warn({}, 'the backup repository key is wrapped by a passphrase: backups wait for backup.key.unlock');
      return;
    }
    this.repo.open(keys);
    if (keys !== null && this.repo.format !== 'encrypted') {
      this.options.logger.info({ format: this.repo.format }, 'encrypting the backup repository in place');
      await migrateToEncrypted(this.repo, (p) => this.options.logger.info(p, 'encrypting the backup repository'));
    }
    reconcileCatalogue(this.repo, this.catalogue, this.options.clock.now());
  }

  // ── the repository key (repo-keyring.ts) ──────────────────────────────────

  keyStatus(): KeyStatus {
    return this.#keyring.status(this.repo);
  }

  /** Unwraps the key with its passphrase and opens the repository (PH_BACKUP_KEY_WRONG for a wrong one). */
  async unlockKey(passphrase: string): Promise<KeyStatus> {
    if (this.#keyring.locked) await this.#openRepository(passphrase);
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
    for (const t of this.#intervals.values()) clearInterval(t);
    this.#intervals.clear();
    await Promise.allSettled([...this.#inflight]);
    await this.#workers.close();
    this.repo.close();
    this.#state = 'stopped';
  }

  status(): { state: ServiceState; detail?: string } {
    if (this.#state !== 'running') return { state: this.#state };
    if (this.#keyring.locked)
      return { state: 'degraded', detail: 'the repository key is locked: unlock it with its passphrase (backup.key.unlock)' };
    const damaged = this.repo.damaged();
    if (damaged.length > 0)
      return {
        state: 'degraded',
        detail: `${damaged.length} damaged snapshots (${damaged
          .slice(0, 5)
          .map((d) => d.id)
          .join(', ')}): restore from another snapshot`,
      };
    return { state: 'running', detail: `${this.repo.listManifests().length} snapshots, ${this.#jobs.size} running` };
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

  /** When the source's schedule next fires, as the queue computes it (croner, from now); null without one. */
  nextRunOf(id: string): number | null {
    return nextRunOf(this.catalogue.source(id)?.schedule ?? null, this.options.clock.now());
  }

  // ── jobs and progress ─────────────────────────────────────────────────────

  #job<T>(
    kind: BackupProgress['kind'],
    sourceId: string | null,
    snapshotId: string | null,
    fn: (report: Report) => Promise<T>,
    onProgress?: Report,
  ): Promise<T> {
    if (this.#state !== 'running') return Promise.reject(new PhError('PH_UNAVAILABLE', 'The backup service is not running'));
    if (this.#keyring.locked)
      return Promise.reject(new PhError('PH_BACKUP_KEY_LOCKED', 'The backup repository key is locked: unlock it first'));
    return this.#jobs.run(kind, sourceId, snapshotId, fn, onProgress);
  }

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
    const h = readHeader(this.repo, snapshotId);
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
    await this.replicas.syncAll();
    await this.replicas.verifyAll();
  }

  // ── restore ───────────────────────────────────────────────────────────────

  planRestore(req: RestoreRequest): BackupRestorePlan {
    const h = chooseSnapshot(this.repo, req);
    const { target, inPlace } = restoreTarget(this.catalogue, this.#paths, h, req);
    const snapshot = this.catalogue.snapshot(h.id) as BackupSnapshot;
    return { snapshot, target, inPlace, safetySnapshot: inPlace, steps: restoreSteps(h, target, inPlace) };
  }

  async restore(req: RestoreRequest): Promise<BackupRestore> {
    const h = chooseSnapshot(this.repo, req);
    const { target, inPlace, source } = restoreTarget(this.catalogue, this.#paths, h, req);
    this.#pins.pin(h.id);
    const started = performance.now();
    let safetySnapshotId: string | null = null;
    const record = (ok: boolean, error: string | null): BackupRestore =>
      this.catalogue.insertRestore({
        snapshotId: h.id,
        sourceId: h.sourceId,
        target,
        inPlace,
        safetySnapshotId,
        at: this.options.clock.now(),
        ok,
        error,
        durationMs: performance.now() - started,
      });
    try {
      return await this.#job('restore', h.sourceId, h.id, async (report) => {
        // Checked before the safety snapshot so a busy target costs nothing; checked again at the swap.
        if (inPlace && req.force !== true && existsSync(target)) assertNotInUse(target);
        if (inPlace && source !== null && existsSync(target)) {
          report('safety snapshot', 0, 1);
          safetySnapshotId = (await this.snapshot(source.id, 'safety')).id;
        }
        await this.#lock.run('read', () => restoreFile(this.repo, this.#workers, h, target, inPlace, report, req.force === true));
        return record(true, null);
      });
    } catch (err) {
      record(false, messageOf(err));
      throw err;
    } finally {
      this.#pins.unpin(h.id);
    }
  }

  /** Rebuilds a snapshot into a temp file for download; the caller streams it and then calls `done`. */
  async exportImage(snapshotId: string): Promise<{ path: string; fileName: string; done: () => void }> {
    const h = readHeader(this.repo, snapshotId);
    const path = `${this.repo.tempPath('export')}.sqlite`;
    this.#pins.pin(h.id);
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
      this.#pins.unpin(h.id);
    }
    return { path, fileName: exportFileName(h), done: () => removeImage(path) };
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
          this.#pins.ids(),
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

  /** Stops the snapshot of `sourceId` under way on this node; it leaves no snapshot. */
  cancelSnapshot(sourceId: string, by: string): BackupCancel {
    const progress = this.#jobs.running().find((p) => p.kind === 'snapshot' && p.sourceId === sourceId);
    return this.#cancels.cancel(sourceId, by, this.options.clock.now(), progress);
  }

  history(limit = 50): { restores: BackupRestore[]; prunes: BackupPrune[]; cancelled: BackupCancel[] } {
    return { restores: this.catalogue.restores(limit), prunes: this.catalogue.prunes(limit), cancelled: this.#cancels.list(limit) };
  }

  repositoryStats(): { path: string; pages: number; packs: number; storedBytes: number; snapshots: number } {
    if (this.#keyring.locked) return { path: this.repo.dir, pages: 0, packs: 0, storedBytes: 0, snapshots: 0 };
    return { path: this.repo.dir, ...this.repo.stats() };
  }
}
