import { createHash } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import { FlowProducer, Queue, UnrecoverableError, Worker, type FlowJob, type Job, type JobsOptions, type JobType } from 'bullmq';
import type { Redis } from 'ioredis';
import { PhError } from '../../contract/errors';
import type { Clock } from '../clock';
import type { EventBus } from '../events';
import type { Logger } from '../logger';
import { Subscriber } from '../redis';
import type { ServiceState } from '../service';
import { clampProgress, runOnce } from './job-effects';
import { validateJobSpec } from './job-spec';
import {
  JobCancelled,
  isFinalFailure,
  jobErrorText,
  JobTimedOut,
  jobStates,
  type ChildSpec,
  type JobContext,
  type JobFilter,
  type JobHandler,
  type JobInfo,
  type JobLog,
  type JobQueue,
  type JobSpec,
  type JobState,
  type JobTypeOptions,
  type QueueCounts,
} from './job-types';
import { DEFAULT_ATTEMPTS, DEFAULT_BACKOFF_MS, emptyCounts } from './sqlite-job-store';
import { ThroughputMeter } from './throughput';

export interface BullmqJobQueueOptions {
  /** BullMQ's lock: a job whose worker stops renewing it is stalled after this. Default 5 s. */
  readonly lockMs?: number;
  /** How often workers look for stalled jobs; default 5 s, so a dead node's job runs again within ~10 s. */
  readonly stalledIntervalMs?: number;
  readonly prefix?: string;
  readonly work?: boolean;
}

const CANCEL_CHANNEL = 'ph:jobs:cancel';
const CANCELLED = 'cancelled';
/** Our -100..100 (higher first) onto BullMQ's 1..201 (lower first); every job gets one so the order is one order. */
const toBullPriority = (p: number | undefined) => 101 - (p ?? 0);
const fromBullPriority = (p: number | undefined) => (p === undefined || p === 0 ? 0 : 101 - p);

/**
 * The same job interface on BullMQ, for nodes sharing one Redis. One BullMQ queue per job type
 * (`ph-<type>`), so concurrency per type is a Worker's concurrency. Ids are `<type>/<bullmq id>`.
 * What differs from the SQLite queue is in docs/batch.md: stalled-job checks instead of leases,
 * cancelled waiting jobs are removed, progress events are published on the node that runs the job.
 */
export class BullmqJobQueue implements JobQueue {
  readonly name = 'jobs';
  readonly backend = 'bullmq' as const;
  readonly #handlers = new Map<
    string,
    { handler: JobHandler; concurrency: number; validatePayload: ((payload: unknown) => void) | undefined }
  >();
  readonly #queues = new Map<string, Queue>();
  readonly #workers = new Map<string, Worker>();
  readonly #meter = new ThroughputMeter();
  readonly #lockMs: number;
  readonly #stalledMs: number;
  readonly #prefix: string;
  readonly #work: boolean;
  #connection: Redis | null = null;
  #subscriber: Redis | null = null;
  #flows: FlowProducer | null = null;
  #state: ServiceState = 'idle';

  constructor(
    private readonly redis: Redis,
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly bus: EventBus | null,
    options: BullmqJobQueueOptions = {},
  ) {
    this.#lockMs = options.lockMs ?? 5_000;
    this.#stalledMs = options.stalledIntervalMs ?? 5_000;
    this.#prefix = options.prefix ?? 'ph';
    this.#work = options.work ?? true;
  }

  register(type: string, handler: JobHandler, options: JobTypeOptions = {}): void {
    if (this.#handlers.has(type)) throw new Error(`Job type ${type} already has a handler`);
    this.#handlers.set(type, { handler, concurrency: Math.max(1, options.concurrency ?? 4), validatePayload: options.validatePayload });
    if (this.#state === 'running' && this.#work) this.#startWorker(type);
  }

  registeredTypes(): string[] {
    return [...this.#handlers.keys()].sort();
  }
  checkPayload(type: string, payload: unknown): void {
    this.#handlers.get(type)?.validatePayload?.(payload);
  }

  async start(): Promise<void> {
    this.#state = 'starting';
    // BullMQ's blocking commands need a connection that retries forever, not the shared client's one retry.
    this.#connection = this.redis.duplicate({ maxRetriesPerRequest: null, lazyConnect: false });
    this.#connection.on('error', (err: Error) => this.logger.warn({ err: err.message }, 'bullmq connection error'));
    this.#flows = new FlowProducer({ connection: this.#connection, prefix: this.#prefix });
    const subscriber = new Subscriber(this.redis, { maxRetriesPerRequest: null }, () => undefined);
    this.#subscriber = subscriber.client;
    this.#subscriber.on('message', (_channel: string, message: string) => this.#cancelLocal(message));
    await subscriber.subscribe(CANCEL_CHANNEL);
    if (this.#work) for (const type of this.#handlers.keys()) this.#startWorker(type);
    this.#state = 'running';
  }

  async stop(): Promise<void> {
    if (this.#state !== 'running') return;
    this.#state = 'stopping';
    await Promise.allSettled([...this.#workers.values()].map((w) => w.close()));
    await Promise.allSettled([...this.#queues.values()].map((q) => q.close()));
    await this.#flows?.close();
    this.#subscriber?.disconnect();
    await this.#connection?.quit().catch(() => this.#connection?.disconnect());
    this.#workers.clear();
    this.#queues.clear();
    this.#state = 'stopped';
  }

  status(): { state: ServiceState; detail?: string } {
    if (this.#state !== 'running') return { state: this.#state };
    if (this.#connection?.status !== 'ready') return { state: 'degraded', detail: `bullmq: redis ${this.#connection?.status ?? 'none'}` };
    return { state: 'running', detail: `bullmq queue, ${this.#workers.size} workers` };
  }

  async enqueue(spec: JobSpec): Promise<JobInfo> {
    validateJobSpec(spec);
    if (spec.children !== undefined && spec.children.length > 0) {
      const node = await (this.#flows as FlowProducer).add(this.#flowJob(spec, undefined));
      return this.#info(node.job as Job);
    }
    const opts = this.#options(spec);
    const queue = this.#queue(spec.type);
    if (opts.jobId !== undefined) {
      const existing = await queue.getJob(opts.jobId);
      if (existing !== undefined) return this.#info(existing);
    }
    const job = await queue.add(spec.type, envelope(spec), opts);
    const info = await this.#info(job);
    this.bus?.publish('jobs.changed', { id: info.id, type: spec.type, state: info.state, removed: false });
    return info;
  }

  async enqueueBulk(specs: readonly JobSpec[]): Promise<string[]> {
    const byType = new Map<string, { index: number; spec: JobSpec }[]>();
    specs.forEach((spec, index) => {
      validateJobSpec(spec);
      const list = byType.get(spec.type) ?? [];
      list.push({ index, spec });
      byType.set(spec.type, list);
    });
    const ids = new Array<string>(specs.length);
    for (const [type, list] of byType) {
      const jobs = await this.#queue(type).addBulk(
        list.map(({ spec }) => ({ name: type, data: envelope(spec), opts: this.#options(spec) })),
      );
      jobs.forEach((job, i) => (ids[(list[i] as { index: number }).index] = `${type}/${job.id as string}`));
    }
    return ids;
  }

  async get(id: string): Promise<JobInfo> {
    return this.#info(await this.#job(id));
  }

  async list(filter: JobFilter = {}): Promise<{ jobs: JobInfo[]; total: number }> {
    const limit = filter.limit ?? 50;
    const offset = filter.offset ?? 0;
    if (filter.parentId !== undefined) {
      const children = await this.#childrenOf(await this.#job(filter.parentId));
      const infos = (await Promise.all(children.map((j) => this.#info(j)))).filter(
        (j) => filter.state === undefined || j.state === filter.state,
      );
      return { jobs: infos.slice(offset, offset + limit), total: infos.length };
    }
    const types = filter.type !== undefined ? [filter.type] : this.registeredTypes();
    const bullTypes = toBullTypes(filter.state);
    let total = 0;
    const found: Job[] = [];
    for (const type of types) {
      const queue = this.#queue(type);
      const counts = await queue.getJobCounts(...bullTypes);
      total += Object.values(counts).reduce((a, b) => a + b, 0);
      found.push(...((await queue.getJobs(bullTypes, 0, offset + limit - 1, false)) as Job[]).filter((j) => j !== undefined && j !== null));
    }
    found.sort((a, b) => b.timestamp - a.timestamp);
    let infos = await Promise.all(found.slice(0, offset + limit).map((j) => this.#info(j)));
    if (filter.state === 'dead' || filter.state === 'cancelled') infos = infos.filter((j) => j.state === filter.state);
    return { jobs: infos.slice(offset, offset + limit), total };
  }

  async cancel(id: string): Promise<JobInfo> {
    const job = await this.#job(id);
    const state = await job.getState();
    if (state === 'active') {
      await this.redis.publish(CANCEL_CHANNEL, id);
      this.#cancelLocal(id);
      return { ...(await this.#info(job)), cancelRequested: true };
    }
    if (state === 'completed' || state === 'failed' || state === 'unknown') {
      throw new PhError('PH_BATCH_JOB_NOT_CANCELLABLE', `Job ${id} is ${state}; only waiting and running jobs can be cancelled`);
    }
    // BullMQ has no cancelled state for a job that never ran: it is removed (with its children).
    const info = await this.#info(job);
    await job.remove({ removeChildren: true });
    this.bus?.publish('jobs.changed', { id, type: job.name, state: 'cancelled', removed: true });
    return { ...info, state: 'cancelled', cancelRequested: true };
  }

  async retry(id: string): Promise<JobInfo> {
    const job = await this.#job(id);
    if ((await job.getState()) !== 'failed') throw new PhError('PH_BATCH_JOB_NOT_RETRYABLE', `Job ${id} has not failed`);
    await job.retry('failed', { resetAttemptsMade: true });
    return this.get(id);
  }

  async remove(id: string): Promise<void> {
    const job = await this.#job(id);
    if ((await job.getState()) === 'active') throw new PhError('PH_BATCH_JOB_RUNNING', `Job ${id} is running; cancel it first`);
    await job.remove({ removeChildren: true });
    this.bus?.publish('jobs.changed', { id, type: job.name, state: 'cancelled', removed: true });
  }

  async logs(id: string): Promise<JobLog[]> {
    const job = await this.#job(id);
    const { logs } = await this.#queue(job.name).getJobLogs(job.id as string, 0, 499);
    return logs.map((line) => {
      const at = /^(\S+) (.*)$/s.exec(line);
      return at === null ? { at: new Date(job.timestamp).toISOString(), message: line } : { at: at[1] as string, message: at[2] as string };
    });
  }

  async stats(): Promise<QueueCounts[]> {
    const now = this.clock.now();
    return Promise.all(
      this.registeredTypes().map(async (type) => {
        const c = await this.#queue(type).getJobCounts(
          'waiting',
          'prioritized',
          'delayed',
          'active',
          'waiting-children',
          'completed',
          'failed',
        );
        const counts = emptyCounts();
        counts.waiting = (c.waiting ?? 0) + (c.prioritized ?? 0);
        counts.delayed = c.delayed ?? 0;
        counts.active = c.active ?? 0;
        counts['waiting-children'] = c['waiting-children'] ?? 0;
        counts.completed = c.completed ?? 0;
        counts.dead = c.failed ?? 0;
        const worker = this.#handlers.get(type);
        return { type, concurrency: worker?.concurrency ?? 0, running: counts.active, counts, throughput: this.#meter.series(type, now) };
      }),
    );
  }

  #queue(type: string): Queue {
    let queue = this.#queues.get(type);
    if (queue === undefined) {
      if (this.#connection === null) throw new PhError('PH_UNAVAILABLE', 'The job queue is not started');
      queue = new Queue(queueName(type), { connection: this.#connection, prefix: this.#prefix });
      queue.on('error', (err) => this.logger.warn({ err: err.message, type }, 'bullmq queue error'));
      this.#queues.set(type, queue);
    }
    return queue;
  }

  async #job(id: string): Promise<Job> {
    const slash = id.indexOf('/');
    const job = slash <= 0 ? undefined : await this.#queue(id.slice(0, slash)).getJob(id.slice(slash + 1));
    if (job === undefined || job === null) throw new PhError('PH_BATCH_JOB_NOT_FOUND', `There is no job ${id}`);
    return job;
  }

  #options(spec: JobSpec, policy?: ChildSpec['policy']): JobsOptions {
    const now = this.clock.now();
    const delay = spec.runAt !== undefined ? Math.max(0, spec.runAt - now) : (spec.delayMs ?? 0);
    const opts: JobsOptions = {
      priority: toBullPriority(spec.priority),
      attempts: spec.attempts ?? DEFAULT_ATTEMPTS,
      backoff: { type: 'exponential', delay: spec.backoffMs ?? DEFAULT_BACKOFF_MS, jitter: 0.5 },
      removeOnComplete: { age: 24 * 3600, count: 1000 },
      removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
    };
    if (delay > 0) opts.delay = delay;
    if (spec.idempotencyKey !== undefined) opts.jobId = `k-${createHash('sha256').update(spec.idempotencyKey).digest('hex').slice(0, 32)}`;
    if (spec.repeat !== undefined) opts.repeat = { pattern: spec.repeat.cron };
    // BullMQ's default leaves a parent waiting forever when a child fails; every child gets a policy.
    if (policy === 'fail-parent') opts.failParentOnFailure = true;
    if (policy === 'ignore') opts.ignoreDependencyOnFailure = true;
    if (policy === 'continue-parent') opts.continueParentOnFailure = true;
    return opts;
  }

  /** `policy` is undefined for the root of a flow. */
  #flowJob(spec: JobSpec, policy: ChildSpec['policy']): FlowJob {
    const children = (spec.children ?? []).map((c) => this.#flowJob(c, c.policy ?? 'fail-parent'));
    return {
      name: spec.type,
      queueName: queueName(spec.type),
      prefix: this.#prefix,
      data: envelope(spec),
      opts: this.#options(spec, policy),
      ...(children.length > 0 ? { children } : {}),
    };
  }

  #startWorker(type: string): void {
    const entry = this.#handlers.get(type);
    if (entry === undefined || this.#workers.has(type) || this.#connection === null) return;
    const worker = new Worker(queueName(type), (job, _token, signal) => this.#process(job, entry.handler, signal), {
      connection: this.#connection,
      prefix: this.#prefix,
      concurrency: entry.concurrency,
      lockDuration: this.#lockMs,
      stalledInterval: this.#stalledMs,
      maxStalledCount: 2,
    });
    worker.on('error', (err) => this.logger.warn({ err: err.message, type }, 'bullmq worker error'));
    worker.on('active', (job) =>
      this.bus?.publish('jobs.changed', { id: `${type}/${job.id as string}`, type, state: 'active', removed: false }),
    );
    worker.on('completed', (job) => {
      this.#meter.record(type, 'completed', this.clock.now());
      this.bus?.publish('jobs.changed', { id: `${type}/${job.id as string}`, type, state: 'completed', removed: false });
    });
    worker.on('failed', (job) => {
      if (job === undefined) return;
      this.#meter.record(type, 'failed', this.clock.now());
      const state = job.failedReason === CANCELLED ? 'cancelled' : job.attemptsMade >= (job.opts.attempts ?? 1) ? 'dead' : 'waiting';
      this.bus?.publish('jobs.changed', { id: `${type}/${job.id as string}`, type, state, removed: false });
    });
    this.#workers.set(type, worker);
  }

  async #process(job: Job, handler: JobHandler, signal: AbortSignal | undefined): Promise<unknown> {
    const { payload, timeoutMs } = unwrap(job.data);
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal?.reason === CANCELLED ? new JobCancelled() : signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    const timer = timeoutMs === null ? undefined : setTimeout(() => controller.abort(new JobTimedOut(timeoutMs)), timeoutMs);
    const aborted = new Promise<never>((_, reject) =>
      controller.signal.addEventListener('abort', () => reject(controller.signal.reason as Error), { once: true }),
    );
    aborted.catch(() => undefined);
    const id = `${job.name}/${job.id as string}`;
    try {
      return await Promise.race([handler(payload, this.#context(job, id, controller.signal)), aborted]);
    } catch (err) {
      const reason: unknown = controller.signal.aborted ? controller.signal.reason : err;
      if (reason instanceof JobCancelled) throw new UnrecoverableError(CANCELLED);
      if (isFinalFailure(reason)) throw new UnrecoverableError(jobErrorText(reason));
      // BullMQ keeps only the message as failedReason: put the code in it.
      throw new Error(jobErrorText(reason), { cause: reason });
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  #context(job: Job, id: string, signal: AbortSignal): JobContext {
    const keyBase = job.opts.jobId?.startsWith('k-') === true ? job.opts.jobId : `job:${id}`;
    return {
      id,
      type: job.name,
      attempt: job.attemptsMade + 1,
      idempotencyKey: job.opts.jobId?.startsWith('k-') === true ? job.opts.jobId : null,
      signal,
      progress: (fraction, message) => {
        const f = clampProgress(fraction);
        void job.updateProgress({ fraction: f, message: message ?? null }).catch(() => undefined);
        this.bus?.publish('jobs.progress', { id, type: job.name, progress: f, message: message ?? null });
      },
      log: (message) => void job.log(`${new Date(this.clock.now()).toISOString()} ${message.slice(0, 2000)}`).catch(() => undefined),
      once: <T>(step: string, fn: (db: Database) => T): T => {
        // Effects land in this node's SQLite database: once per node. Jobs whose effect must be once
        // across nodes should make the effect itself idempotent (for example, keyed by job id).
        return runOnce(this.db, `${keyBase}:${step}`, this.clock.now(), fn);
      },
      children: async () => Promise.all((await this.#childrenOf(job)).map((c) => this.#info(c))),
    };
  }

  async #childrenOf(job: Job): Promise<Job[]> {
    const deps = await job.getDependencies();
    const keys = [
      ...Object.keys(deps.processed ?? {}),
      ...(deps.unprocessed ?? []),
      ...Object.keys(deps.failed ?? {}),
      ...Object.keys(deps.ignored ?? {}),
    ];
    const out: Job[] = [];
    for (const key of new Set(keys)) {
      // Keys are `<prefix>:<queue>:<id>`.
      const parts = key.split(':');
      const childId = parts.pop() as string;
      const q = parts.slice(1).join(':');
      const type = [...this.#queues.keys(), ...this.#handlers.keys()].find((t) => queueName(t) === q);
      if (type === undefined) continue;
      const child = await this.#queue(type).getJob(childId);
      if (child !== undefined && child !== null) out.push(child);
    }
    return out;
  }

  #cancelLocal(id: string): void {
    const slash = id.indexOf('/');
    if (slash <= 0) return;
    this.#workers.get(id.slice(0, slash))?.cancelJob(id.slice(slash + 1), CANCELLED);
  }

  async #info(job: Job): Promise<JobInfo> {
    const bullState = await job.getState();
    const type = job.name;
    const progress = job.progress as { fraction?: number; message?: string | null } | number;
    const fraction = typeof progress === 'number' ? progress / 100 : (progress?.fraction ?? 0);
    const { payload, timeoutMs } = unwrap(job.data);
    let state: JobState;
    switch (bullState) {
      case 'failed':
        state = job.failedReason === CANCELLED ? 'cancelled' : 'dead';
        break;
      case 'prioritized':
      case 'waiting':
      case 'unknown':
        state = 'waiting';
        break;
      default:
        state = jobStates.includes(bullState as JobState) ? (bullState as JobState) : 'waiting';
    }
    const deps = state === 'waiting-children' ? await job.getDependenciesCount({ unprocessed: true }) : { unprocessed: 0 };
    const parent =
      job.parent === undefined
        ? null
        : `${[...this.#handlers.keys()].find((t) => job.parent?.queueKey.endsWith(`:${queueName(t)}`)) ?? '?'}/${job.parent.id}`;
    return {
      id: `${type}/${job.id as string}`,
      type,
      payload,
      state,
      priority: fromBullPriority(job.opts.priority),
      runAt: new Date(job.timestamp + (job.opts.delay ?? 0)).toISOString(),
      attemptsMade: job.attemptsMade,
      maxAttempts: job.opts.attempts ?? 1,
      timeoutMs,
      idempotencyKey: job.opts.jobId?.startsWith('k-') === true ? job.opts.jobId : null,
      repeatCron: job.opts.repeat?.pattern ?? null,
      parentId: parent,
      childPolicy:
        job.opts.ignoreDependencyOnFailure === true
          ? 'ignore'
          : job.opts.continueParentOnFailure === true
            ? 'continue-parent'
            : 'fail-parent',
      pendingChildren: deps.unprocessed ?? 0,
      progress: state === 'completed' ? 1 : fraction,
      progressMessage: typeof progress === 'object' ? (progress?.message ?? null) : null,
      result: job.returnvalue ?? null,
      lastError: job.failedReason === undefined || job.failedReason === '' ? null : job.failedReason,
      errors: job.failedReason === undefined || job.failedReason === '' ? [] : [job.failedReason],
      cancelRequested: job.failedReason === CANCELLED,
      createdAt: new Date(job.timestamp).toISOString(),
      startedAt: job.processedOn === undefined ? null : new Date(job.processedOn).toISOString(),
      finishedAt: job.finishedOn === undefined ? null : new Date(job.finishedOn).toISOString(),
    };
  }
}

/** What a BullMQ job's data holds: the payload and what BullMQ has no option for (the timeout). */
interface Envelope {
  ph: 1;
  payload: unknown;
  timeoutMs: number | null;
}

function envelope(spec: JobSpec): Envelope {
  return { ph: 1, payload: spec.payload ?? null, timeoutMs: spec.timeoutMs ?? null };
}

function unwrap(data: unknown): { payload: unknown; timeoutMs: number | null } {
  if (typeof data === 'object' && data !== null && (data as Envelope).ph === 1) return data as Envelope;
  return { payload: data, timeoutMs: null };
}

function queueName(type: string): string {
  return `ph-${type.replaceAll(':', '~')}`;
}

function toBullTypes(state: JobState | undefined): JobType[] {
  switch (state) {
    case undefined:
      return ['waiting', 'prioritized', 'delayed', 'active', 'waiting-children', 'completed', 'failed'];
    case 'waiting':
      return ['waiting', 'prioritized'];
    case 'dead':
    case 'cancelled':
      return ['failed'];
    default:
      return [state];
  }
}
