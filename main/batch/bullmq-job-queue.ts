import type { Database } from 'better-sqlite3';
import { FlowProducer, type FlowJob, type Job, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { PhError } from '../../contract/errors';
import type { Clock } from '../clock';
import type { EventBus } from '../events';
import { newId, type FleetSeal, type RedisEpoch } from '../fleet';
import type { Logger } from '../logger';
import { Subscriber } from '../redis';
import type { ServiceState } from '../service';
import { attemptsOf, progressKey, readProgress } from './bullmq-job-detail';
import { endSchedule, promoteJob, removeIdleJob, removeJobAndChildren, retryFailedJob, type ScheduleHome } from './bullmq-transitions';
import { infoFromResult, sealEnvelope, toJobInfo, type Envelope } from './bullmq-job-info';
import { jobIdOf, parseJobId, parseQueueName, queueName, type QueueRef } from './bullmq-names';
import { QueuePlacement } from './bullmq-placement';
import { closeSettled } from './bullmq-close';
import { listBullJobs } from './bullmq-job-list';
import { BullmqQueues, jobOptions } from './bullmq-queues';
import { BullmqWorkers, type TypeEntry } from './bullmq-workers';
import { DEFAULT_JOB_HISTORY, type PrunePolicy } from './job-history';
import { NodeRoster } from './job-nodes';
import { JobOutbox, type OutboxEntry } from './job-outbox';
import { JobResults } from './job-results';
import { JobSchedules } from './job-schedules';
import { prepareSpec, validateJobSpec } from './job-spec';
import type {
  ChildSpec,
  JobAttempt,
  JobFilter,
  JobHandler,
  JobInfo,
  JobLog,
  JobPage,
  JobQueue,
  JobSpec,
  JobTypeOptions,
  ProgressPoint,
  QueueCounts,
} from './job-types';
import { ThroughputMeter } from './throughput';

export interface BullmqJobQueueOptions {
  /** BullMQ's lock: a job whose worker stops renewing it is stalled after this. Default 5 s. */
  readonly lockMs?: number;
  /** How often workers look for stalled jobs; default 5 s, so a dead node's job runs again within ~10 s. */
  readonly stalledIntervalMs?: number;
  readonly prefix?: string;
  readonly work?: boolean;
  /** This node's id: names its per-node queues. */
  readonly nodeId?: string;
  /** A node whose liveness key is older than this shows as offline to jobs waiting for it. Default 10 s. */
  readonly nodeTtlMs?: number;
  /** How often the outbox forgets jobs that ended. Default 5 s. */
  readonly outboxSweepMs?: number;
  /** Tells the queue when Redis came back empty, so it re-enqueues its outbox. */
  readonly epoch?: RedisEpoch | null;
  /** How much ended job history BullMQ keeps (config `retention`); the retention defaults otherwise. */
  readonly history?: PrunePolicy;
}

const CANCEL_CHANNEL = 'ph:jobs:cancel';
const CANCEL = 'jobs.cancel';

/**
 * The same job interface on BullMQ, for nodes sharing one Redis. Queue names and ids are in
 * bullmq-names.ts: one queue per job type, or one per type and node for jobs placed on their
 * target's node. Every job id is a UUIDv7 (BullMQ's own counter restarts with an emptied Redis).
 * Each job this node enqueues is kept in its SQLite outbox until it ends, and each job it runs to
 * completion is recorded with its result, so a re-run of the same id returns that result instead
 * of acting again. What differs from the SQLite queue is in docs/batch.md; the fleet rules in docs/fleet.md.
 * This node's workers and a run's life are in bullmq-workers.ts; which queue a job goes to, in bullmq-placement.ts.
 */
export class BullmqJobQueue implements JobQueue {
  readonly name = 'jobs';
  readonly backend = 'bullmq' as const;
  readonly nodeId: string;
  readonly outbox: JobOutbox;
  readonly results: JobResults;
  readonly schedules: JobSchedules;
  readonly roster: NodeRoster;
  readonly #handlers = new Map<string, TypeEntry>();
  readonly #queues: BullmqQueues;
  readonly #workers: BullmqWorkers;
  readonly #placement: QueuePlacement;
  readonly #meter = new ThroughputMeter();
  readonly #sweepMs: number;
  readonly #prefix: string;
  readonly #work: boolean;
  readonly #epoch: RedisEpoch | null;
  readonly #history: PrunePolicy;
  #connection: Redis | null = null;
  #subscriber: Redis | null = null;
  #flows: FlowProducer | null = null;
  #sweeper: NodeJS.Timeout | null = null;
  #offEmptied: (() => void) | null = null;
  /** Recoveries under way: a stop waits for them, or one would open a queue on the connection it just closed. */
  readonly #recovering = new Set<Promise<string[]>>();
  #state: ServiceState = 'idle';

  constructor(
    private readonly redis: Redis,
    db: Database,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly bus: EventBus | null,
    private readonly seal: FleetSeal,
    options: BullmqJobQueueOptions = {},
  ) {
    this.#sweepMs = options.outboxSweepMs ?? 5_000;
    this.#prefix = options.prefix ?? 'ph';
    this.#work = options.work ?? true;
    this.#epoch = options.epoch ?? null;
    this.#history = options.history ?? DEFAULT_JOB_HISTORY;
    this.nodeId = options.nodeId ?? `node-${newId().slice(-12)}`;
    const now = () => this.clock.now();
    this.outbox = new JobOutbox(db, now);
    this.results = new JobResults(
      db,
      redis,
      seal,
      this.nodeId,
      this.#prefix,
      now,
      Math.max(this.#history.keepCompletedMs, this.#history.keepDeadMs),
    );
    this.schedules = new JobSchedules(db, now);
    this.roster = new NodeRoster(redis, this.nodeId, this.#prefix, options.nodeTtlMs ?? 10_000, seal);
    this.#queues = new BullmqQueues(
      () => this.#connection,
      this.#prefix,
      logger,
      (ref, name) => this.#knownQueue(ref, name),
    );
    this.#placement = new QueuePlacement(this.#handlers, this.roster, this.nodeId);
    this.#workers = new BullmqWorkers({
      connection: () => this.#connection,
      prefix: this.#prefix,
      lockMs: options.lockMs ?? 5_000,
      stalledMs: options.stalledIntervalMs ?? 5_000,
      db,
      clock,
      logger,
      bus,
      seal,
      results: this.results,
      meter: this.#meter,
      info: (job) => this.#info(job),
      keepMs: this.#history.keepDeadMs,
      childrenOf: (job) => this.#queues.childrenOf(job),
    });
  }

  register(type: string, handler: JobHandler, options: JobTypeOptions = {}): void {
    if (this.#handlers.has(type)) throw new Error(`Job type ${type} already has a handler`);
    this.#handlers.set(type, { handler, concurrency: Math.max(1, options.concurrency ?? 4), options });
    if (this.#state === 'running' && this.#work) {
      this.#startWorker(type);
      void this.roster.addQueue(queueName(this.#placement.workRef(type))).catch(() => undefined);
    }
  }

  registeredTypes(): string[] {
    return this.#placement.registeredTypes();
  }

  checkPayload(type: string, payload: unknown): void {
    this.#handlers.get(type)?.options.validatePayload?.(payload);
  }

  async start(): Promise<void> {
    this.#state = 'starting';
    // BullMQ's blocking commands need a connection that retries forever, not the shared client's one retry.
    this.#connection = this.redis.duplicate({ maxRetriesPerRequest: null, lazyConnect: false });
    this.#connection.on('error', (err: Error) => this.logger.warn({ err: err.message }, 'bullmq connection error'));
    this.#flows = new FlowProducer({ connection: this.#connection, prefix: this.#prefix });
    // BullMQ re-emits its connection's failures as 'error'; an emitter with no listener throws them.
    this.#flows.on('error', (err: Error) => this.logger.warn({ err: err.message }, 'bullmq flow producer error'));
    const subscriber = new Subscriber(this.redis, { maxRetriesPerRequest: null }, () => undefined);
    this.#subscriber = subscriber.client;
    this.#subscriber.on('message', (_channel: string, message: string) => {
      const opened = this.seal.open(CANCEL, CANCEL_CHANNEL, message);
      if (opened !== null) this.#cancelLocal(opened.body);
    });
    await subscriber.subscribe(CANCEL_CHANNEL);
    if (this.#work) for (const type of this.#handlers.keys()) this.#startWorker(type);
    await this.roster.start(this.#work ? this.#placement.workQueues() : []);
    this.#offEmptied =
      this.#epoch?.onEmptied(async () => {
        await this.recover();
      }) ?? null;
    this.#sweeper = setInterval(() => void this.sweepOutbox().catch(() => undefined), this.#sweepMs);
    this.#sweeper.unref();
    this.#state = 'running';
  }

  async stop(): Promise<void> {
    if (this.#state !== 'running') return;
    this.#state = 'stopping';
    this.#offEmptied?.();
    if (this.#sweeper !== null) clearInterval(this.#sweeper);
    await Promise.allSettled([...this.#recovering]);
    await this.#workers.close();
    await this.roster.stop();
    // From here a late caller gets PH_UNAVAILABLE instead of a queue opened on a closing connection.
    const connection = this.#connection;
    this.#connection = null;
    await this.#queues.close();
    if (this.#flows !== null) await closeSettled([this.#flows], 'leave');
    this.#subscriber?.disconnect();
    await connection?.quit().catch(() => connection.disconnect());
    this.#workers.clear();
    this.#state = 'stopped';
  }

  status(): { state: ServiceState; detail?: string } {
    if (this.#state !== 'running') return { state: this.#state };
    if (this.#connection?.status !== 'ready') return { state: 'degraded', detail: `bullmq: redis ${this.#connection?.status ?? 'none'}` };
    return {
      state: 'running',
      detail: `bullmq queue, node ${this.nodeId}, ${this.#workers.size} workers, ${this.#queues.size} queues open, ${this.outbox.size()} in outbox`,
    };
  }

  async enqueue(input: JobSpec): Promise<JobInfo> {
    validateJobSpec(input);
    const spec = this.#prepare(input);
    if (spec.children !== undefined && spec.children.length > 0) {
      const flow = await this.#flowJob(spec, undefined);
      const id = jobIdOf(parseQueueName(flow.queueName) as QueueRef, flow.opts?.jobId as string);
      this.outbox.add([{ id, queue: flow.queueName, kind: 'flow', body: flow, runAt: this.#runAt(spec) }]);
      const node = await this.#added(id, () => (this.#flows as FlowProducer).add(flow));
      return this.#info(node.job as Job);
    }
    const ref = await this.#placement.place(spec);
    const opts = jobOptions(spec, this.clock.now(), this.#history);
    const queue = this.#queues.of(ref);
    if (opts.jobId !== undefined && opts.jobId.startsWith('k-')) {
      const existing = await queue.getJob(opts.jobId);
      if (existing !== undefined) return this.#info(existing);
    }
    const data = this.#envelope(spec);
    const id = opts.jobId === undefined ? null : jobIdOf(ref, opts.jobId);
    if (id !== null)
      this.outbox.add([{ id, queue: queue.name, kind: 'job', body: { name: spec.type, data, opts }, runAt: this.#runAt(spec) }]);
    // A schedule lives in Redis only: this node, its owner, keeps it to register it again after a loss.
    const schedule = opts.repeat?.key === undefined ? null : `${queue.name}/${opts.repeat.key}`;
    // A repeating job goes through BullMQ's repeat helper, whose set-up failure would reach no one.
    if (schedule !== null) await queue.waitUntilReady();
    if (schedule !== null) this.schedules.add({ id: schedule, queue: queue.name, name: spec.type, data, opts });
    const job = await this.#added(id, () => queue.add(spec.type, data, opts)).catch((err: unknown) => {
      if (schedule !== null) this.schedules.remove(schedule);
      throw err;
    });
    const info = await this.#info(job);
    this.bus?.publish('jobs.changed', { id: info.id, type: spec.type, state: info.state, removed: false });
    return info;
  }

  async enqueueBulk(specs: readonly JobSpec[]): Promise<string[]> {
    const byQueue = new Map<string, { ref: QueueRef; items: { index: number; spec: JobSpec; opts: JobsOptions }[] }>();
    for (const [index, input] of specs.entries()) {
      validateJobSpec(input);
      const spec = this.#prepare(input);
      const ref = await this.#placement.place(spec);
      const group = byQueue.get(queueName(ref)) ?? { ref, items: [] };
      group.items.push({ index, spec, opts: jobOptions(spec, this.clock.now(), this.#history) });
      byQueue.set(queueName(ref), group);
    }
    const ids = new Array<string>(specs.length);
    for (const [name, { ref, items }] of byQueue) {
      const entries = items.map(({ spec, opts }) => ({ name: spec.type, data: this.#envelope(spec), opts }));
      const outboxed: OutboxEntry[] = items
        .filter(({ opts }) => opts.jobId !== undefined)
        .map(({ spec, opts }, i) => ({
          id: jobIdOf(ref, opts.jobId as string),
          queue: name,
          kind: 'job',
          body: entries[i],
          runAt: this.#runAt(spec),
        }));
      this.outbox.add(outboxed);
      const jobs = await this.#added(null, () => this.#queues.of(ref).addBulk(entries)).catch((err: unknown) => {
        this.outbox.remove(outboxed.map((e) => e.id));
        throw err;
      });
      jobs.forEach((job, i) => (ids[(items[i] as { index: number }).index] = jobIdOf(ref, job.id as string)));
    }
    return ids;
  }

  async get(id: string): Promise<JobInfo> {
    const job = await this.#queues.find(id);
    if (job !== null) return this.#info(job);
    const stored = await this.results.fetch(id);
    if (stored !== null) return infoFromResult(id, stored, parseJobId(id)?.node ?? null);
    throw new PhError('PH_BATCH_JOB_NOT_FOUND', `There is no job ${id}`);
  }

  list(filter: JobFilter = {}): Promise<JobPage> {
    return listBullJobs(
      {
        refs: (type) => this.#placement.refs(type),
        lookup: (ref) => this.#queues.lookup(ref),
        find: (id) => this.#queues.find(id),
        childrenOf: (job) => this.#queues.childrenOf(job),
        info: (job) => this.#info(job),
        get: (id) => this.get(id),
      },
      filter,
    );
  }

  async cancel(id: string): Promise<JobInfo> {
    const job = await this.#queues.job(id);
    const state = await job.getState();
    if (state === 'active') return this.#cancelRun(job, id);
    if (state === 'completed' || state === 'failed' || state === 'unknown') {
      throw new PhError('PH_BATCH_JOB_NOT_CANCELLABLE', `Job ${id} is ${state}; only waiting and running jobs can be cancelled`);
    }
    // BullMQ has no cancelled state for a job that never ran: it is removed (with its children).
    const info = await this.#info(job);
    try {
      await removeIdleJob(job, id, () => removeJobAndChildren(job, this.#scheduleOf(job)));
    } catch (err) {
      // A worker took the job between the read and the removal: its run is cancelled instead.
      if (err instanceof PhError && err.code === 'PH_BATCH_JOB_RUNNING') return this.#cancelRun(job, id);
      throw err;
    }
    this.outbox.remove([id]);
    this.bus?.publish('jobs.changed', { id, type: job.name, state: 'cancelled', removed: true });
    return { ...info, state: 'cancelled', cancelRequested: true };
  }

  /** A running run of a repeating job: cancelling it ends the series too, as on the SQLite queue. */
  async #cancelRun(job: Job, id: string): Promise<JobInfo> {
    await endSchedule(job, this.#scheduleOf(job));
    await this.redis.publish(CANCEL_CHANNEL, this.seal.seal(CANCEL, CANCEL_CHANNEL, id));
    this.#cancelLocal(id);
    return { ...(await this.#info(job)), cancelRequested: true };
  }

  async retry(id: string): Promise<JobInfo> {
    await retryFailedJob(await this.#queues.job(id), id);
    return this.get(id);
  }

  async remove(id: string): Promise<void> {
    const job = await this.#queues.job(id);
    await removeIdleJob(job, id, () => removeJobAndChildren(job, this.#scheduleOf(job)));
    this.outbox.remove([id]);
    this.bus?.publish('jobs.changed', { id, type: job.name, state: 'cancelled', removed: true });
  }

  async logs(id: string): Promise<JobLog[]> {
    const job = await this.#queues.find(id);
    if (job === null) return [];
    return this.#queues.logsOf(job);
  }

  async attempts(id: string): Promise<JobAttempt[]> {
    return attemptsOf(await this.#queues.job(id));
  }

  async timeline(id: string): Promise<ProgressPoint[]> {
    return readProgress(this.redis, progressKey(this.#prefix, id));
  }

  async promote(id: string): Promise<JobInfo> {
    const job = await this.#queues.job(id);
    await promoteJob(job, id);
    this.bus?.publish('jobs.changed', { id, type: job.name, state: 'waiting', removed: false });
    return this.get(id);
  }

  async stats(): Promise<QueueCounts[]> {
    const now = this.clock.now();
    const refs = await this.#placement.refs(undefined);
    return Promise.all(
      this.registeredTypes().map(async (type) => {
        const counts = await this.#queues.countsOf(refs.filter((r) => r.type === type));
        const worker = this.#handlers.get(type);
        return { type, concurrency: worker?.concurrency ?? 0, running: counts.active, counts, throughput: this.#meter.series(type, now) };
      }),
    );
  }

  /** Forgets outbox entries whose jobs ended (run by a timer; tests call it). */
  sweepOutbox(): Promise<number> {
    // The epoch as it was before Redis is read: an entry Redis lacks is forgotten only if none was lost since.
    const epoch = this.#epoch;
    const seen = epoch?.known ?? null;
    return this.outbox.sweep(
      (e) => this.#queues.stateOf(e),
      () => (epoch === null ? Promise.resolve(true) : epoch.stillSame(seen)),
    );
  }

  /**
   * After Redis came back empty: re-adds (same id) every job of this node's outbox that Redis lost,
   * delayed ones with what is left of their delay, registers again the repeating jobs this node
   * registered, and re-publishes this node's results and liveness.
   */
  async recover(): Promise<string[]> {
    const run = this.#recover();
    this.#recovering.add(run);
    try {
      return await run;
    } finally {
      this.#recovering.delete(run);
    }
  }

  async #recover(): Promise<string[]> {
    await this.roster.republish(this.#work ? this.#placement.workQueues() : []);
    const restored = await this.outbox.restore(
      (e) => this.#queues.stateOf(e),
      (e) => this.#queues.readd(e, this.#flows as FlowProducer, this.clock.now()),
    );
    const schedules = await this.schedules.restore((name) => this.#queues.byName(name));
    const results = await this.results.republish();
    this.logger.warn(
      { restored: restored.length, schedules: schedules.length, results },
      're-enqueued the jobs and schedules redis lost and re-published job results',
    );
    return restored;
  }

  /** How many BullMQ queues this node holds open. */
  get openQueues(): number {
    return this.#queues.size;
  }

  /**
   * A queue exists when it is a registered type's own (shared, or this node's), or a node of the
   * fleet announced it (the roster's set): the only queues jobs are ever added to.
   */
  async #knownQueue(ref: QueueRef, name: string): Promise<boolean> {
    if (this.#handlers.has(ref.type) && (ref.node === null || ref.node === this.nodeId)) return true;
    return this.roster.hasQueue(name);
  }

  /** Runs BullMQ's add; if it throws, the outbox entry goes too (the client was not told it was queued). */
  async #added<T>(id: string | null, add: () => Promise<T>): Promise<T> {
    try {
      return await add();
    } catch (err) {
      if (id !== null) this.outbox.remove([id]);
      throw err;
    }
  }

  #prepare(spec: JobSpec): JobSpec {
    return prepareSpec(spec, (type) => this.#handlers.get(type)?.options.prepare);
  }

  #runAt(spec: JobSpec): number {
    const now = this.clock.now();
    return spec.runAt ?? now + (spec.delayMs ?? 0);
  }

  /** `policy` is undefined for the root of a flow. */
  async #flowJob(spec: JobSpec, policy: ChildSpec['policy']): Promise<FlowJob> {
    const children = await Promise.all(
      (spec.children ?? []).map((c) => this.#flowJob({ ...c, createdBy: c.createdBy ?? spec.createdBy }, c.policy ?? 'fail-parent')),
    );
    return {
      name: spec.type,
      queueName: queueName(await this.#placement.place(spec)),
      prefix: this.#prefix,
      data: this.#envelope(spec),
      opts: jobOptions(spec, this.clock.now(), this.#history, policy),
      ...(children.length > 0 ? { children } : {}),
    };
  }

  #startWorker(type: string): void {
    const entry = this.#handlers.get(type);
    if (entry !== undefined) this.#workers.start(type, queueName(this.#placement.workRef(type)), entry);
  }

  #scheduleOf(job: Job): ScheduleHome {
    return { queue: this.#queues.byName(job.queueName), schedules: this.schedules };
  }

  #cancelLocal(id: string): void {
    const ref = parseJobId(id);
    if (ref === null) return;
    this.#workers.cancel(queueName(ref), ref.bullId);
  }

  #envelope(spec: JobSpec): Envelope {
    return sealEnvelope(this.seal, spec.type, spec.payload ?? null, spec.timeoutMs ?? null, spec.createdBy ?? null);
  }

  #info(job: Job): Promise<JobInfo> {
    return toJobInfo(job, async (node) =>
      (await this.roster.alive(node)) ? null : `node ${node} is offline; the job runs when that node is back`,
    );
  }
}
