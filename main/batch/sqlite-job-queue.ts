import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Database } from 'better-sqlite3';
import type { Clock } from '../clock';
import type { EventBus } from '../events';
import type { Logger } from '../logger';
import type { ServiceState } from '../service';
import { stackOf } from './job-attempts';
import { prepareSpec, validateJobSpec } from './job-spec';
import { checkLocalPlacement } from './local-placement';
import { sqliteJobContext } from './sqlite-job-context';
import {
  JobCancelled,
  isFinalFailure,
  jobErrorText,
  JobInterrupted,
  JobTimedOut,
  type JobAttempt,
  type JobFilter,
  type JobPage,
  type JobHandler,
  type JobInfo,
  type JobLog,
  type JobQueue,
  type JobSpec,
  type JobTypeOptions,
  type ProgressPoint,
  type QueueCounts,
} from './job-types';
import { DEFAULT_JOB_HISTORY, type PrunePolicy } from './job-history';
import { toJobInfo, type JobRow, type Transition } from './sqlite-job-row';
import { emptyCounts, SqliteJobStore } from './sqlite-job-store';
import { ThroughputMeter } from './throughput';

export interface SqliteJobQueueOptions {
  /** How long a claim holds without a heartbeat; a dead worker's job is claimable again after it. Default 5 s. */
  readonly leaseMs?: number;
  /** Heartbeat, lease sweep and cross-process cancel check; default leaseMs / 5. */
  readonly heartbeatMs?: number;
  /** Idle poll for due jobs (in-process enqueues wake the workers at once); default 200 ms. */
  readonly pollMs?: number;
  /** Prune ended jobs this often; default 60 s. */
  readonly pruneEveryMs?: number;
  readonly prune?: Partial<PrunePolicy>;
  /** How long stop() lets running jobs finish before handing them back; default 2 s. */
  readonly drainMs?: number;
  /** Workers run only when true (default); false makes a node that only enqueues and reads. */
  readonly work?: boolean;
  readonly workerId?: string;
  /** Jobs placed on another node are refused (local-placement.ts); default `local`. */
  readonly nodeId?: string;
  readonly random?: () => number;
}

interface TypeSlot {
  readonly handler: JobHandler;
  readonly concurrency: number;
  readonly options: JobTypeOptions;
  active: number;
}

interface Running {
  readonly row: JobRow;
  readonly controller: AbortController;
  readonly done: Promise<void>;
}

/**
 * The durable job queue on the app's SQLite database (the default backend).
 *
 * Workers claim due jobs in one UPDATE … RETURNING with a lease, renew it by heartbeat, and a sweep
 * puts jobs whose lease ran out back in line, so a job held by a worker that died is claimable
 * again after `leaseMs` (+ one heartbeat). Every state change is one transaction.
 */
export class SqliteJobQueue implements JobQueue {
  readonly name = 'jobs';
  readonly backend = 'sqlite' as const;
  readonly store: SqliteJobStore;
  readonly workerId: string;
  readonly #types = new Map<string, TypeSlot>();
  readonly #running = new Map<number, Running>();
  readonly #meter = new ThroughputMeter();
  readonly #leaseMs: number;
  readonly #heartbeatMs: number;
  readonly #pollMs: number;
  readonly #pruneEveryMs: number;
  readonly #prune: PrunePolicy;
  readonly #drainMs: number;
  readonly #work: boolean;
  readonly #nodeId: string;
  #state: ServiceState = 'idle';
  #timers: NodeJS.Timeout[] = [];
  #tickScheduled = false;
  /** Handlers that returned this event-loop turn: recorded together in one transaction by the next tick. */
  readonly #completions: { row: JobRow; result: unknown }[] = [];

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly bus: EventBus | null,
    options: SqliteJobQueueOptions = {},
  ) {
    this.store = new SqliteJobStore(db, options.random);
    this.#leaseMs = options.leaseMs ?? 5_000;
    this.#heartbeatMs = options.heartbeatMs ?? Math.max(50, Math.floor(this.#leaseMs / 5));
    this.#pollMs = options.pollMs ?? 200;
    this.#pruneEveryMs = options.pruneEveryMs ?? 60_000;
    this.#prune = { ...DEFAULT_JOB_HISTORY, ...options.prune };
    this.#drainMs = options.drainMs ?? 2_000;
    this.#work = options.work ?? true;
    this.#nodeId = options.nodeId ?? 'local';
    this.workerId = options.workerId ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  }

  register(type: string, handler: JobHandler, options: JobTypeOptions = {}): void {
    if (this.#types.has(type)) throw new Error(`Job type ${type} already has a handler`);
    this.#types.set(type, {
      handler,
      concurrency: Math.max(1, options.concurrency ?? 4),
      options,
      active: 0,
    });
    if (this.#state === 'running') this.#wake();
  }

  registeredTypes(): string[] {
    return [...this.#types.keys()].sort();
  }

  typeOptions(type: string): JobTypeOptions | undefined {
    return this.#types.get(type)?.options;
  }

  #checkPlacement(spec: JobSpec): Promise<void> {
    return checkLocalPlacement(spec, (type) => this.#types.get(type)?.options.placement, this.#nodeId);
  }

  #prepare(spec: JobSpec): JobSpec {
    return prepareSpec(spec, (type) => this.#types.get(type)?.options.prepare);
  }

  async start(): Promise<void> {
    this.#state = 'starting';
    this.#pruneNow();
    if (this.#work) {
      this.#timers.push(setInterval(() => this.#wake(), this.#pollMs));
      this.#timers.push(setInterval(() => this.#heartbeat(), this.#heartbeatMs));
    }
    this.#timers.push(setInterval(() => this.#pruneNow(), this.#pruneEveryMs));
    for (const t of this.#timers) t.unref();
    this.#state = 'running';
    this.#wake();
  }

  /** Stops claiming, lets running jobs finish for `drainMs`, then aborts and hands the rest back. */
  async stop(): Promise<void> {
    if (this.#state !== 'running' && this.#state !== 'degraded') return;
    this.#state = 'stopping';
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    const all = () => Promise.allSettled([...this.#running.values()].map((r) => r.done));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all(), new Promise((r) => (timer = setTimeout(r, this.#drainMs)))]);
    clearTimeout(timer);
    for (const r of this.#running.values()) r.controller.abort(new JobInterrupted());
    await all();
    this.#flushCompletions();
    this.#state = 'stopped';
  }

  status(): { state: ServiceState; detail?: string } {
    if (this.#state !== 'running') return { state: this.#state };
    return { state: 'running', detail: `sqlite queue, ${this.#running.size} running, worker ${this.workerId}` };
  }

  async enqueue(spec: JobSpec): Promise<JobInfo> {
    validateJobSpec(spec);
    await this.#checkPlacement(spec);
    const now = this.clock.now();
    const { row, created } = this.store.enqueue(this.#prepare(spec), now);
    const info = toJobInfo(row, now);
    if (created) this.#publish(row.id, row.type, info.state);
    this.#wake();
    return info;
  }

  async enqueueBulk(specs: readonly JobSpec[]): Promise<string[]> {
    for (const spec of specs) validateJobSpec(spec);
    for (const spec of specs) await this.#checkPlacement(spec);
    const ids = this.store.enqueueBulk(
      specs.map((s) => this.#prepare(s)),
      this.clock.now(),
    );
    this.#wake();
    return ids.map(String);
  }

  async get(id: string): Promise<JobInfo> {
    return toJobInfo(this.store.mustRow(id), this.clock.now());
  }

  async list(filter: JobFilter = {}): Promise<JobPage> {
    const now = this.clock.now();
    const { rows, total, nextCursor } = this.store.list(filter, now);
    return { jobs: rows.map((r) => toJobInfo(r, now)), total, nextCursor };
  }

  async cancel(id: string): Promise<JobInfo> {
    const { transitions, running } = this.store.cancel(id, this.clock.now());
    this.#publishAll(transitions);
    if (running) this.#running.get(Number(id))?.controller.abort(new JobCancelled());
    return this.get(id);
  }

  async retry(id: string): Promise<JobInfo> {
    const row = this.store.retry(id, this.clock.now());
    this.#publish(row.id, row.type, 'waiting');
    this.#wake();
    return toJobInfo(row, this.clock.now());
  }

  async remove(id: string): Promise<void> {
    const row = this.store.mustRow(id);
    this.#publishAll(this.store.remove(id, this.clock.now()));
    this.#publish(row.id, row.type, 'cancelled', true);
  }

  async logs(id: string): Promise<JobLog[]> {
    return this.store.logs(id);
  }

  async attempts(id: string): Promise<JobAttempt[]> {
    return this.store.trail.attempts(this.store.mustRow(id).id);
  }

  async timeline(id: string): Promise<ProgressPoint[]> {
    return this.store.trail.timeline(this.store.mustRow(id).id);
  }

  async promote(id: string): Promise<JobInfo> {
    const row = this.store.promote(id, this.clock.now());
    this.#publish(row.id, row.type, 'waiting');
    this.#wake();
    return toJobInfo(row, this.clock.now());
  }

  async stats(): Promise<QueueCounts[]> {
    const now = this.clock.now();
    const counts = this.store.counts(now);
    const types = new Set([...counts.keys(), ...this.#types.keys()]);
    return [...types].sort().map((type) => ({
      type,
      concurrency: this.#types.get(type)?.concurrency ?? 0,
      running: this.#types.get(type)?.active ?? 0,
      counts: counts.get(type) ?? emptyCounts(),
      throughput: this.#meter.series(type, now),
    }));
  }

  /** Resolves when no job of this node is running (tests and benches). */
  async idle(): Promise<void> {
    while (this.#running.size > 0) await Promise.allSettled([...this.#running.values()].map((r) => r.done));
    this.#flushCompletions();
  }

  get runningCount(): number {
    return this.#running.size;
  }

  #wake(): void {
    if (this.#tickScheduled || !this.#work || (this.#state !== 'running' && this.#completions.length === 0)) return;
    this.#tickScheduled = true;
    setImmediate(() => {
      this.#tickScheduled = false;
      this.#tick();
    });
  }

  #tick(): void {
    this.#flushCompletions();
    if (this.#state !== 'running') return;
    const now = this.clock.now();
    try {
      for (const [type, slot] of this.#types) {
        const free = slot.concurrency - slot.active;
        if (free <= 0) continue;
        for (const row of this.store.claim(type, free, this.workerId, now, this.#leaseMs)) this.#run(row, slot);
      }
    } catch (err) {
      this.logger.error({ err }, 'claiming jobs failed');
    }
  }

  #run(row: JobRow, slot: TypeSlot): void {
    slot.active += 1;
    const controller = new AbortController();
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => (resolveDone = r));
    this.#running.set(row.id, { row, controller, done });
    this.#publish(row.id, row.type, 'active');
    const timeout =
      row.timeout_ms === null ? undefined : setTimeout(() => controller.abort(new JobTimedOut(row.timeout_ms as number)), row.timeout_ms);
    // The handler's promise races the signal, so a handler that ignores its signal still frees the slot.
    const aborted = new Promise<never>((_, reject) => {
      controller.signal.addEventListener('abort', () => reject(controller.signal.reason as Error), { once: true });
    });
    aborted.catch(() => undefined);
    const ctx = sqliteJobContext(row, controller.signal, {
      db: this.db,
      store: this.store,
      clock: this.clock,
      bus: this.bus,
      children: async (parentId) => (await this.list({ parentId, limit: 1000 })).jobs,
    });
    Promise.resolve()
      .then(() => Promise.race([slot.handler(JSON.parse(row.payload) as unknown, ctx), aborted]))
      .then(
        (result) => void this.#completions.push({ row, result }),
        (err: unknown) => this.#failed(row, controller.signal, err),
      )
      .finally(() => {
        clearTimeout(timeout);
        slot.active -= 1;
        this.#running.delete(row.id);
        resolveDone();
        this.#wake();
      });
  }

  #failed(row: JobRow, signal: AbortSignal, err: unknown): void {
    const reason: unknown = signal.aborted ? signal.reason : err;
    if (reason instanceof JobInterrupted) {
      this.store.release(row.id, this.workerId);
      return;
    }
    if (reason instanceof JobCancelled) {
      this.#settle(row, () => this.store.markCancelled(row.id, this.clock.now()), 'failed');
      return;
    }
    const message = jobErrorText(reason);
    const final = isFinalFailure(reason);
    const stack = stackOf(reason, message);
    this.#settle(row, () => this.store.fail(row.id, this.workerId, message, this.clock.now(), final, stack), 'failed');
  }

  #flushCompletions(): void {
    if (this.#completions.length === 0) return;
    const done = this.#completions.splice(0);
    let results: (Transition[] | null)[];
    try {
      results = this.store.completeMany(
        done.map((d) => ({ id: d.row.id, result: d.result })),
        this.workerId,
        this.clock.now(),
      );
    } catch (err) {
      this.logger.error({ err, jobs: done.length }, 'recording completed jobs failed; they will run again after their lease');
      return;
    }
    const now = this.clock.now();
    results.forEach((transitions, i) => {
      const row = (done[i] as { row: JobRow }).row;
      if (transitions === null) {
        this.logger.warn({ jobId: row.id }, 'job finished after its lease was lost; another worker owns it now');
        return;
      }
      this.#meter.record(row.type, 'completed', now);
      this.#publishAll(transitions);
    });
  }

  #settle(row: JobRow, write: () => Transition[] | null, outcome: 'completed' | 'failed'): void {
    try {
      const transitions = write();
      if (transitions === null) {
        this.logger.warn({ jobId: row.id }, 'job finished after its lease was lost; another worker owns it now');
        return;
      }
      this.#meter.record(row.type, outcome, this.clock.now());
      this.#publishAll(transitions);
    } catch (err) {
      this.logger.error({ err, jobId: row.id }, 'recording a job outcome failed');
    }
  }

  #heartbeat(): void {
    if (this.#state !== 'running') return;
    const now = this.clock.now();
    try {
      if (this.#running.size > 0) {
        this.store.heartbeat(this.workerId, now, this.#leaseMs);
        for (const id of this.store.cancelRequested(this.workerId)) this.#running.get(id)?.controller.abort(new JobCancelled());
      }
      const reclaimed = this.store.reclaimExpired(now);
      if (reclaimed.length > 0) {
        this.logger.warn({ jobs: reclaimed.length }, 'reclaimed jobs whose worker stopped');
        this.#publishAll(reclaimed);
        this.#wake();
      }
    } catch (err) {
      this.logger.error({ err }, 'job heartbeat failed');
    }
  }

  #pruneNow(): void {
    try {
      this.#publishAll(this.store.reconcileParents(this.clock.now()));
      const removed = this.store.prune(this.clock.now(), this.#prune);
      if (removed > 0) this.logger.debug({ removed }, 'pruned ended jobs');
    } catch (err) {
      this.logger.error({ err }, 'pruning jobs failed');
    }
  }

  #publishAll(transitions: readonly Transition[]): void {
    for (const t of transitions) {
      if (t.abort === true) this.#running.get(t.id)?.controller.abort(new JobCancelled());
      else this.#publish(t.id, t.type, t.state);
    }
    if (transitions.some((t) => t.state === 'waiting')) this.#wake();
  }

  #publish(id: number, type: string, state: JobInfo['state'], removed = false): void {
    this.bus?.publish('jobs.changed', { id: String(id), type, state, removed });
  }
}
