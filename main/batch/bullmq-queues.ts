import { Queue, type FlowJob, type FlowProducer, type Job, type JobsOptions, type JobType } from 'bullmq';
import type { Redis } from 'ioredis';
import { PhError } from '../../contract/errors';
import { newId } from '../fleet';
import type { Logger } from '../logger';
import { closeSettled } from './bullmq-close';
import { toBullPriority, type Envelope } from './bullmq-job-info';
import { keyedJobId, parseJobId, parseQueueName, queueName, type QueueRef } from './bullmq-names';
import { MAX_ATTEMPTS_KEPT } from './job-attempts';
import { bullmqRemoval, type PrunePolicy } from './job-history';
import { repeatKey } from './job-schedules';
import type { OutboxEntry, OutboxState } from './job-outbox';
import type { ChildSpec, JobLog, JobSpec, JobState, QueueCounts } from './job-types';
import { DEFAULT_ATTEMPTS, DEFAULT_BACKOFF_MS, emptyCounts } from './sqlite-job-store';

/**
 * Whether a queue exists for this node to look in: a job id or type a caller names is checked with it
 * before a queue is opened for it, so the names a caller makes up cannot grow the map of open queues
 * (each holds listeners and a script cache for the life of the node).
 */
export type KnownQueue = (ref: QueueRef, name: string) => Promise<boolean>;

/**
 * The BullMQ queues this node has opened (one per name, opened on first use) and lookups across them.
 * `of`/`byName` open any queue: they are for names this node chose (a registered type's queue, its
 * own outbox and schedules). What a caller names goes through `lookup`, which opens only known queues.
 */
export class BullmqQueues {
  readonly #queues = new Map<string, Queue>();

  constructor(
    private readonly connection: () => Redis | null,
    private readonly prefix: string,
    private readonly logger: Logger,
    private readonly known: KnownQueue,
  ) {}

  /** How many queues are open (shown in the queue's status). */
  get size(): number {
    return this.#queues.size;
  }

  of(ref: QueueRef): Queue {
    return this.byName(queueName(ref));
  }

  /** The queue a caller-supplied name refers to, or null when no such queue exists (none is opened). */
  async lookup(ref: QueueRef): Promise<Queue | null> {
    const name = queueName(ref);
    const open = this.#queues.get(name);
    if (open !== undefined) return open;
    return (await this.known(ref, name)) ? this.byName(name) : null;
  }

  byName(name: string): Queue {
    let queue = this.#queues.get(name);
    if (queue === undefined) {
      const connection = this.connection();
      if (connection === null) throw new PhError('PH_UNAVAILABLE', 'The job queue is not started');
      queue = new Queue(name, { connection, prefix: this.prefix });
      queue.on('error', (err) => this.logger.warn({ err: err.message, queue: name }, 'bullmq queue error'));
      this.#queues.set(name, queue);
    }
    return queue;
  }

  async close(): Promise<void> {
    const queues = [...this.#queues.values()];
    this.#queues.clear();
    await closeSettled(queues, 'leave');
  }

  async find(id: string): Promise<Job | null> {
    const ref = parseJobId(id);
    if (ref === null) return null;
    const queue = await this.lookup(ref);
    return queue === null ? null : ((await queue.getJob(ref.bullId)) ?? null);
  }

  async job(id: string): Promise<Job> {
    const job = await this.find(id);
    if (job === null) throw new PhError('PH_BATCH_JOB_NOT_FOUND', `There is no job ${id}`);
    return job;
  }

  /** A type's counts summed over its queues (`refs`), in this interface's states (BullMQ's failed is dead). */
  async countsOf(refs: readonly QueueRef[]): Promise<QueueCounts['counts']> {
    const counts = emptyCounts();
    for (const ref of refs) {
      const queue = await this.lookup(ref);
      if (queue === null) continue;
      const c = await queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active', 'waiting-children', 'completed', 'failed');
      counts.waiting += (c.waiting ?? 0) + (c.prioritized ?? 0);
      counts.delayed += c.delayed ?? 0;
      counts.active += c.active ?? 0;
      counts['waiting-children'] += c['waiting-children'] ?? 0;
      counts.completed += c.completed ?? 0;
      counts.dead += c.failed ?? 0;
    }
    return counts;
  }

  /** A job's log lines (the first 500), each split into the time it was written and its message. */
  async logsOf(job: Job): Promise<JobLog[]> {
    const { logs } = await this.byName(job.queueName).getJobLogs(job.id as string, 0, 499);
    return logs.map((line) => {
      const at = /^(\S+) (.*)$/s.exec(line);
      return at === null ? { at: new Date(job.timestamp).toISOString(), message: line } : { at: at[1] as string, message: at[2] as string };
    });
  }

  async childrenOf(job: Job): Promise<Job[]> {
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
      const ref = parseQueueName(parts.slice(1).join(':'));
      if (ref === null) continue;
      const child = await (await this.lookup(ref))?.getJob(childId);
      if (child !== undefined && child !== null) out.push(child);
    }
    return out;
  }

  /** What Redis holds of an outbox entry. */
  async stateOf(e: OutboxEntry): Promise<OutboxState> {
    const ref = parseJobId(e.id);
    if (ref === null) return 'ended';
    const state = await this.of(ref).getJobState(ref.bullId);
    if (state === 'unknown') return 'gone';
    return state === 'completed' || state === 'failed' ? 'ended' : 'live';
  }

  /** Adds an outbox entry again under its id; a delayed job keeps only what is left of its delay. */
  async readd(e: OutboxEntry, flows: FlowProducer, now: number): Promise<void> {
    if (e.kind === 'flow') {
      await flows.add(e.body as FlowJob);
      return;
    }
    const ref = parseJobId(e.id) as QueueRef;
    const body = e.body as { name: string; data: Envelope; opts: JobsOptions };
    const delay = Math.max(0, e.runAt - now);
    const { delay: _old, ...opts } = body.opts;
    await this.of(ref).add(body.name, body.data, delay > 0 ? { ...opts, delay } : opts);
  }
}

export function envelope(spec: JobSpec): Envelope {
  return { ph: 1, payload: spec.payload ?? null, timeoutMs: spec.timeoutMs ?? null };
}

/**
 * BullMQ's options for a spec, with the job history kept by `history` (config `retention`); `policy`
 * is undefined for a job that is not a child.
 */
export function jobOptions(spec: JobSpec, now: number, history: PrunePolicy, policy?: ChildSpec['policy']): JobsOptions {
  const delay = spec.runAt !== undefined ? Math.max(0, spec.runAt - now) : (spec.delayMs ?? 0);
  const opts: JobsOptions = {
    priority: toBullPriority(spec.priority),
    attempts: spec.attempts ?? DEFAULT_ATTEMPTS,
    backoff: { type: 'exponential', delay: spec.backoffMs ?? DEFAULT_BACKOFF_MS, jitter: 0.5 },
    // One stack per failed attempt, for the job detail; as many as the SQLite queue keeps errors.
    stackTraceLimit: MAX_ATTEMPTS_KEPT,
    ...bullmqRemoval(history),
  };
  if (delay > 0) opts.delay = delay;
  // A UUIDv7 for every job: BullMQ's counter starts again at 1 when Redis loses its data.
  if (spec.idempotencyKey !== undefined) opts.jobId = keyedJobId(spec.idempotencyKey);
  else if (spec.repeat === undefined) opts.jobId = newId();
  // A repeating job's runs are named by BullMQ from its repeat key and due time, not a counter.
  if (spec.repeat !== undefined)
    opts.repeat = { pattern: spec.repeat.cron, key: repeatKey(spec.type, spec.repeat.cron, spec.idempotencyKey) };
  // BullMQ's default leaves a parent waiting forever when a child fails; every child gets a policy.
  if (policy === 'fail-parent') opts.failParentOnFailure = true;
  if (policy === 'ignore') opts.ignoreDependencyOnFailure = true;
  if (policy === 'continue-parent') opts.continueParentOnFailure = true;
  return opts;
}

export function toBullTypes(state: JobState | undefined): JobType[] {
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
