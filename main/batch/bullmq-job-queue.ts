import type { Database } from 'better-sqlite3';
import { FlowProducer, Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { PhError } from '../../contract/errors';
import type { Clock } from '../clock';
import type { EventBus } from '../events';
import { newId, type FleetSeal, type RedisEpoch } from '../fleet';
import type { Logger } from '../logger';
import type { RedisProbe } from '../redis';
import type { ServiceState } from '../service';
import { attemptsOf, progressKey, readProgress } from './bullmq-job-detail';
import { endSchedule, promoteJob, removeIdleJob, removeJobAndChildren, retryFailedJob, type ScheduleHome } from './bullmq-transitions';
import { BullmqEnqueue } from './bullmq-enqueue';
import { CancelChannel } from './bullmq-cancel-channel';
import { infoFromResult, toJobInfo } from './bullmq-job-info';
import { parseJobId, queueName, type QueueRef } from './bullmq-names';
import { QueuePlacement } from './bullmq-placement';
import { closeSettled } from './bullmq-close';
import { listBullJobs } from './bullmq-job-list';
import { BullmqQueues } from './bullmq-queues';
import { BullmqRecovery } from './bullmq-recovery';
import { BullmqWorkers, type TypeEntry } from './bullmq-workers';
import { DEFAULT_JOB_HISTORY, type PrunePolicy } from './job-history';
import { NodeRoster } from './job-nodes';
import { JobOutbox } from './job-outbox';
import { JobResults } from './job-results';
import { JobSchedules } from './job-schedules';
import type {
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
  /**
   * Whether this node's fleet secret is known to be the fleet's (default: always). While it is not,
   * a job whose seal fails is handed back for another node instead of ending dead.
   */
  readonly secretConfirmed?: () => boolean;
  /** Whether Redis answers (the node's probe): a stopped Redis leaves the queue's connection `ready`. */
  readonly probe?: Pick<RedisProbe, 'trouble'> | null;
}

/**
 * The same job interface on BullMQ, for nodes sharing one Redis. Queue names and ids are in
 * bullmq-names.ts: one queue per job type, or one per type and node for jobs placed on their
 * target's node. Every job id is a UUIDv7 (BullMQ's own counter restarts with an emptied Redis).
 * Each job this node enqueues is kept in its SQLite outbox until it ends, and each job it runs to
 * completion is recorded with its result, so a re-run of the same id returns that result instead
 * of acting again. What differs from the SQLite queue is in docs/batch.md; the fleet rules in docs/fleet.md.
 * This node's workers and a run's life are in bullmq-workers.ts; which queue a job goes to, in bullmq-placement.ts;
 * how jobs are added, in bullmq-enqueue.ts; the fleet's cancel broadcast, in bullmq-cancel-channel.ts; the outbox's
 * sweep and the recovery after Redis came back empty, in bullmq-recovery.ts.
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
  readonly #adder: BullmqEnqueue;
  readonly #cancels: CancelChannel;
  readonly #recovery: BullmqRecovery;
  readonly #meter = new ThroughputMeter();
  readonly #prefix: string;
  readonly #work: boolean;
  readonly #history: PrunePolicy;
  readonly #secretConfirmed: () => boolean;
  readonly #probe: Pick<RedisProbe, 'trouble'> | null;
  #connection: Redis | null = null;
  #flows: FlowProducer | null = null;
  #state: ServiceState = 'idle';

  constructor(
    private readonly redis: Redis,
    db: Database,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly bus: EventBus | null,
    seal: FleetSeal,
    options: BullmqJobQueueOptions = {},
  ) {
    this.#prefix = options.prefix ?? 'ph';
    this.#work = options.work ?? true;
    this.#history = options.history ?? DEFAULT_JOB_HISTORY;
    this.#secretConfirmed = options.secretConfirmed ?? (() => true);
    this.#probe = options.probe ?? null;
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
      secretConfirmed: this.#secretConfirmed,
    });
    this.#adder = new BullmqEnqueue({
      handlers: this.#handlers,
      queues: this.#queues,
      placement: this.#placement,
      flows: () => this.#flows,
      outbox: this.outbox,
      schedules: this.schedules,
      clock,
      bus,
      seal,
      prefix: this.#prefix,
      history: this.#history,
      info: (job) => this.#info(job),
    });
    this.#cancels = new CancelChannel(redis, seal, (id) => this.#cancelLocal(id));
    this.#recovery = new BullmqRecovery({
      roster: this.roster,
      outbox: this.outbox,
      schedules: this.schedules,
      results: this.results,
      queues: this.#queues,
      flows: () => this.#flows,
      workQueues: () => (this.#work ? this.#placement.workQueues() : []),
      clock,
      logger,
      epoch: options.epoch ?? null,
      sweepMs: options.outboxSweepMs ?? 5_000,
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

  typeOptions(type: string): JobTypeOptions | undefined {
    return this.#handlers.get(type)?.options;
  }

  async start(): Promise<void> {
    this.#state = 'starting';
    // BullMQ's blocking commands need a connection that retries forever, not the shared client's one retry.
    this.#connection = this.redis.duplicate({ maxRetriesPerRequest: null, lazyConnect: false });
    this.#connection.on('error', (err: Error) => this.logger.warn({ err: err.message }, 'bullmq connection error'));
    this.#flows = new FlowProducer({ connection: this.#connection, prefix: this.#prefix });
    // BullMQ re-emits its connection's failures as 'error'; an emitter with no listener throws them.
    this.#flows.on('error', (err: Error) => this.logger.warn({ err: err.message }, 'bullmq flow producer error'));
    await this.#cancels.start();
    if (this.#work) for (const type of this.#handlers.keys()) this.#startWorker(type);
    await this.roster.start(this.#work ? this.#placement.workQueues() : []);
    this.#recovery.start();
    this.#state = 'running';
  }

  async stop(): Promise<void> {
    if (this.#state !== 'running') return;
    this.#state = 'stopping';
    await this.#recovery.stop();
    await this.#workers.close();
    await this.roster.stop();
    // From here a late caller gets PH_UNAVAILABLE instead of a queue opened on a closing connection.
    const connection = this.#connection;
    this.#connection = null;
    await this.#queues.close();
    if (this.#flows !== null) await closeSettled([this.#flows], 'leave');
    this.#cancels.stop();
    await connection?.quit().catch(() => connection.disconnect());
    this.#workers.clear();
    this.#state = 'stopped';
  }

  status(): { state: ServiceState; detail?: string } {
    if (this.#state !== 'running') return { state: this.#state };
    if (this.#connection?.status !== 'ready') return { state: 'degraded', detail: `bullmq: redis ${this.#connection?.status ?? 'none'}` };
    if (this.#workers.handedBack > 0 && !this.#secretConfirmed())
      return {
        state: 'degraded',
        detail: `PH_FLEET_SECRET_MISMATCH: handed ${this.#workers.handedBack} jobs back unopened, their seal does not verify with this node's fleet secret`,
      };
    const trouble = this.#probe?.trouble() ?? null;
    if (trouble !== null) return { state: 'degraded', detail: `bullmq: ${trouble}` };
    return {
      state: 'running',
      detail: `bullmq queue, node ${this.nodeId}, ${this.#workers.size} workers, ${this.#queues.size} queues open, ${this.outbox.size()} in outbox`,
    };
  }

  enqueue(input: JobSpec): Promise<JobInfo> {
    return this.#adder.enqueue(input);
  }

  enqueueBulk(specs: readonly JobSpec[]): Promise<string[]> {
    return this.#adder.enqueueBulk(specs);
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
      throw new PhError('PH_BATCH_JOB_NOT_CANCELLABLE', `Job ${id} is ${state}; only jobs that have not ended can be cancelled`);
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
    await this.#cancels.publish(id);
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
    return this.#recovery.sweepOutbox();
  }

  /** After Redis came back empty, puts back what this node owns there (see bullmq-recovery.ts); the ids of the jobs re-added. */
  recover(): Promise<string[]> {
    return this.#recovery.recover();
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

  #info(job: Job): Promise<JobInfo> {
    return toJobInfo(
      job,
      async (node) => ((await this.roster.alive(node)) ? null : `node ${node} is offline; the job runs when that node is back`),
      () => Job.fromId(this.#queues.byName(job.queueName), job.id as string),
    );
  }
}
