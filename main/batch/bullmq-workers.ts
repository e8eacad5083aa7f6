import type { Database } from 'better-sqlite3';
import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { errorCatalogue } from '../../contract/errors';
import type { Clock } from '../clock';
import type { EventBus } from '../events';
import type { FleetSeal } from '../fleet';
import type { Logger } from '../logger';
import { CANCELLED, envelopeSealed, idOfJob, unwrap } from './bullmq-job-info';
import { progressKey, recordProgress } from './bullmq-job-detail';
import { ProgressSampler, stackOf } from './job-attempts';
import { clampProgress, runOnce } from './job-effects';
import type { JobResults } from './job-results';
import {
  JobCancelled,
  isFinalFailure,
  jobErrorText,
  JobTimedOut,
  type JobContext,
  type JobHandler,
  type JobInfo,
  type JobTypeOptions,
} from './job-types';
import type { ThroughputMeter } from './throughput';
import { closeSettled } from './bullmq-close';

export interface TypeEntry {
  readonly handler: JobHandler;
  readonly concurrency: number;
  readonly options: JobTypeOptions;
}

export interface BullmqWorkerDeps {
  /** The queue's BullMQ connection; null before start (no worker starts then). */
  readonly connection: () => Redis | null;
  readonly prefix: string;
  readonly lockMs: number;
  readonly stalledMs: number;
  readonly db: Database;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly bus: EventBus | null;
  readonly seal: FleetSeal;
  readonly results: JobResults;
  readonly meter: ThroughputMeter;
  readonly info: (job: Job) => Promise<JobInfo>;
  /** How long a job's progress timeline is kept in Redis: as long as BullMQ keeps a dead job. */
  readonly keepMs: number;
  readonly childrenOf: (job: Job) => Promise<Job[]>;
  /**
   * True when this node knows its fleet secret is the running fleet's (FleetSecretClaim.confirmed):
   * only then is a job whose seal fails forged rather than this node's own mistake.
   */
  readonly secretConfirmed: () => boolean;
}

/** How long a job this node could not open waits before a worker (another node's, likely) takes it again. */
const HANDED_BACK_DELAY_MS = 5_000;

/**
 * This node's BullMQ workers, one per queue it reads: each run checks the envelope's seal, returns
 * the recorded result of an id that already ran here instead of running again, and is bounded by
 * its timeout and cancellable through the cancel channel (see BullmqJobQueue).
 */
export class BullmqWorkers {
  readonly #workers = new Map<string, Worker>();
  readonly #sampler = new ProgressSampler();
  /** Jobs handed back because their seal failed while this node's secret was not confirmed. */
  #handedBack = 0;

  constructor(private readonly deps: BullmqWorkerDeps) {}

  get size(): number {
    return this.#workers.size;
  }

  /** Starts the worker of `type` reading queue `name`; nothing when it runs already or there is no connection yet. */
  start(type: string, name: string, entry: TypeEntry): void {
    const { connection, prefix, lockMs, stalledMs, logger, bus, clock, meter } = this.deps;
    const conn = connection();
    if (this.#workers.has(name) || conn === null) return;
    const worker = new Worker(name, (job, token, signal) => this.#process(job, entry.handler, token, signal), {
      connection: conn,
      prefix,
      concurrency: entry.concurrency,
      lockDuration: lockMs,
      stalledInterval: stalledMs,
      maxStalledCount: 2,
    });
    worker.on('error', (err) => logger.warn({ err: err.message, type }, 'bullmq worker error'));
    worker.on('active', (job) => bus?.publish('jobs.changed', { id: idOfJob(job), type, state: 'active', removed: false }));
    worker.on('completed', (job) => {
      meter.record(type, 'completed', clock.now());
      bus?.publish('jobs.changed', { id: idOfJob(job), type, state: 'completed', removed: false });
    });
    worker.on('failed', (job) => {
      if (job === undefined) return;
      meter.record(type, 'failed', clock.now());
      const state = job.failedReason === CANCELLED ? 'cancelled' : job.attemptsMade >= (job.opts.attempts ?? 1) ? 'dead' : 'waiting';
      bus?.publish('jobs.changed', { id: idOfJob(job), type, state, removed: false });
    });
    this.#workers.set(name, worker);
  }

  /** Cancels a run of this node's worker on queue `name`, if it has it. */
  cancel(name: string, bullId: string): void {
    this.#workers.get(name)?.cancelJob(bullId, CANCELLED);
  }

  async close(): Promise<void> {
    await closeSettled(this.#workers.values(), 'close');
  }

  clear(): void {
    this.#workers.clear();
  }

  /** How many jobs this node handed back unopened (its fleet secret not confirmed); 0 when none. */
  get handedBack(): number {
    return this.#handedBack;
  }

  async #process(job: Job, handler: JobHandler, token: string | undefined, signal: AbortSignal | undefined): Promise<unknown> {
    const { results, seal, secretConfirmed, logger } = this.deps;
    const id = idOfJob(job);
    // This job id already ran to completion here (Redis lost the news, or the node died before
    // BullMQ heard): the first run's result, not a second run.
    const done = results.local(id);
    if (done !== undefined) {
      await results.reshare(id).catch(() => undefined);
      return done.result;
    }
    if (!envelopeSealed(seal, job.name, job.data)) {
      if (secretConfirmed()) throw new UnrecoverableError(`PH_FLEET_MESSAGE_REJECTED: ${errorCatalogue.PH_FLEET_MESSAGE_REJECTED.message}`);
      // This node's own secret may be the wrong one: failing the job would destroy the fleet's work.
      // It goes back, unattempted, for a node that can open it. BullMQ's timestamps are its own wall clock.
      this.#handedBack += 1;
      logger.warn(
        { code: 'PH_FLEET_SECRET_MISMATCH', id, type: job.name },
        "handed a job back unopened: its seal does not verify with this node's fleet secret, which is not confirmed as the fleet's",
      );
      await job.moveToDelayed(Date.now() + HANDED_BACK_DELAY_MS, token);
      throw new DelayedError();
    }
    const { payload, timeoutMs } = unwrap(job.data);
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal?.reason === CANCELLED ? new JobCancelled() : signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    const timer = timeoutMs === null ? undefined : setTimeout(() => controller.abort(new JobTimedOut(timeoutMs)), timeoutMs);
    const aborted = new Promise<never>((_, reject) =>
      controller.signal.addEventListener('abort', () => reject(controller.signal.reason as Error), { once: true }),
    );
    aborted.catch(() => undefined);
    try {
      const result = await Promise.race([handler(payload, this.#context(job, id, controller.signal)), aborted]);
      await results.record(id, job.name, result);
      return result;
    } catch (err) {
      const reason: unknown = controller.signal.aborted ? controller.signal.reason : err;
      if (reason instanceof JobCancelled) throw new UnrecoverableError(CANCELLED);
      // BullMQ keeps only the message as failedReason: put the code in it. Its stack list keeps
      // each attempt's stack: the handler's frames, under that coded message.
      const text = jobErrorText(reason);
      const failure = isFinalFailure(reason) ? new UnrecoverableError(text) : new Error(text, { cause: reason });
      failure.stack = stackOf(reason, text) ?? failure.stack;
      throw failure;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  #context(job: Job, id: string, signal: AbortSignal): JobContext {
    const { db, clock, bus, info, childrenOf } = this.deps;
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
        const conn = this.deps.connection();
        if (conn !== null && this.#sampler.take(id, clock.now(), f)) {
          const point = { at: new Date(clock.now()).toISOString(), progress: f, message: message ?? null };
          void recordProgress(conn, progressKey(this.deps.prefix, id), point, this.deps.keepMs).catch(() => undefined);
        }
        bus?.publish('jobs.progress', { id, type: job.name, progress: f, message: message ?? null });
      },
      log: (message) => void job.log(`${new Date(clock.now()).toISOString()} ${message.slice(0, 2000)}`).catch(() => undefined),
      // Effects land in this node's SQLite database; a job whose effects do, is placed on this node.
      once: <T>(step: string, fn: (db: Database) => T): T => runOnce(db, `${keyBase}:${step}`, clock.now(), fn),
      children: async () => Promise.all((await childrenOf(job)).map((c) => info(c))),
    };
  }
}
