import { PhError } from '../../contract/errors';
import type { Database } from 'better-sqlite3';
import type { Role } from '../../contract/roles';
import type { Service } from '../service';

/** `delayed` is a waiting job whose `runAt` is still ahead; `dead` is the dead-letter state. */
export type JobState = 'waiting' | 'delayed' | 'active' | 'waiting-children' | 'completed' | 'dead' | 'cancelled';
export const jobStates: readonly JobState[] = ['waiting', 'delayed', 'active', 'waiting-children', 'completed', 'dead', 'cancelled'];

/**
 * What a parent does when one of its children ends in `dead` or `cancelled`:
 * `fail-parent` fails it at once (and cancels the siblings still to run), `ignore` lets it run when
 * the other children are done, `continue-parent` starts it at once.
 */
export type ChildPolicy = 'fail-parent' | 'ignore' | 'continue-parent';

export interface JobSpec {
  readonly type: string;
  readonly payload?: unknown;
  /** -100..100, higher runs first; default 0. */
  readonly priority?: number;
  readonly delayMs?: number;
  /** Epoch ms; wins over delayMs. */
  readonly runAt?: number;
  /** Total attempts, first included; default 3. */
  readonly attempts?: number;
  /** Base of the exponential backoff between attempts; default 1000 ms. */
  readonly backoffMs?: number;
  readonly timeoutMs?: number;
  /** A second enqueue with the same key returns the first job instead of adding one. */
  readonly idempotencyKey?: string;
  /** Run again on this cron pattern (croner syntax, seconds optional) after each run. */
  readonly repeat?: { readonly cron: string };
  /** The job waits in `waiting-children` until these have ended. */
  readonly children?: readonly ChildSpec[];
  /** Who enqueued it, as the audit log names callers (`key:<id>`, `desktop`); its children get it too. Not an API input. */
  readonly createdBy?: string;
}

export interface ChildSpec extends JobSpec {
  readonly policy?: ChildPolicy;
}

export interface JobInfo {
  id: string;
  type: string;
  payload: unknown;
  state: JobState;
  priority: number;
  runAt: string;
  attemptsMade: number;
  maxAttempts: number;
  timeoutMs: number | null;
  idempotencyKey: string | null;
  repeatCron: string | null;
  parentId: string | null;
  childPolicy: ChildPolicy;
  pendingChildren: number;
  progress: number;
  progressMessage: string | null;
  result: unknown;
  lastError: string | null;
  errors: string[];
  cancelRequested: boolean;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  /** Who enqueued it (`key:<id>`, `desktop`, `system`); null when not recorded (a capability's own job, or an older one). */
  createdBy: string | null;
  /** The node this job must run on (its target lives there), or null when any node may run it. */
  node: string | null;
  /** Why a waiting job is not running, when it is for a reason the operator should see (its node is offline). */
  waitingFor: string | null;
}

export interface JobContext {
  readonly id: string;
  readonly type: string;
  readonly attempt: number;
  readonly idempotencyKey: string | null;
  /** Aborted on cancel (reason `JobCancelled`), timeout (`JobTimedOut`) or shutdown (`JobInterrupted`). */
  readonly signal: AbortSignal;
  /** Persists progress (0..1 and a message) and publishes it live. */
  progress(fraction: number, message?: string): void;
  log(message: string): void;
  /**
   * Runs `fn` against the app database at most once per job (per idempotency key when the job has
   * one) and step name: the effect and its record commit in one transaction, so a job re-run after
   * a crash does not repeat it and gets the first result back.
   */
  once<T>(step: string, fn: (db: Database) => T): T;
  /** This job's children, for a parent that runs after them. */
  children(): Promise<JobInfo[]>;
}

export type JobHandler = (payload: unknown, ctx: JobContext) => unknown;

/**
 * Where a job type runs. `any`: whichever node's worker takes it first (its effect does not depend
 * on the node). `owner`: the node that owns the job's target, named at enqueue from the payload
 * (`here` is the enqueuing node), e.g. the node that registered a backup source, or the node whose
 * database a batch applies to. A placed job waits for its node, whichever node enqueued it.
 */
export type JobPlacement = 'any' | { readonly owner: (payload: unknown, here: string) => string | Promise<string> };

export interface JobTypeOptions {
  /** How many jobs of this type run at once on this node; default 4. */
  readonly concurrency?: number;
  /** Default `any`. The distributed queue places jobs; the SQLite queue is one node and refuses a job placed on another (local-placement.ts). */
  readonly placement?: JobPlacement;
  /**
   * Fills in, at enqueue, what every attempt must agree on (a batch id), so a re-run after a crash
   * or after Redis lost the job finds the first run's committed result instead of starting anew.
   */
  readonly prepare?: (payload: unknown) => unknown;
  /**
   * Throws a coded error (`PH_INVALID_INPUT` with the field) for a payload the handler cannot use,
   * so the API refuses it at enqueue instead of a job failing later.
   */
  readonly validatePayload?: (payload: unknown) => void;
  /**
   * Enqueued by Pilothouse alone: `jobs.enqueue` refuses it, since its handler trusts its payload as
   * Pilothouse's own (a webhook delivery it signs with the endpoint's secret, a saga it runs).
   */
  readonly internal?: boolean;
  /**
   * The least role that reads a job's payload and result (`jobs.list`, `jobs.get`); lower roles see
   * null. For a type whose payload carries what the role table keeps from them (a webhook's body).
   */
  readonly payloadRole?: Role;
}

export interface JobFilter {
  readonly state?: JobState;
  readonly type?: string;
  readonly parentId?: string;
  /** A job's id, its idempotency key, or a part of its type. */
  readonly search?: string;
  /** ISO instants: created at or after, and before. */
  readonly createdAfter?: string;
  readonly createdBefore?: string;
  readonly sort?: 'newest' | 'oldest';
  /** The children of each of these parents, up to `limit` per parent (one read for them all). */
  readonly parentIds?: readonly string[];
  readonly limit?: number;
  /** The previous page's nextCursor (opaque: each backend writes its own). */
  readonly cursor?: string;
  readonly offset?: number;
}

export interface JobPage {
  jobs: JobInfo[];
  total: number;
  nextCursor: string | null;
}

export interface QueueCounts {
  type: string;
  concurrency: number;
  running: number;
  counts: Record<JobState, number>;
  /** Completed and failed attempts in the last minutes, oldest first, one bucket per `bucketMs`. */
  throughput: { at: string; completed: number; failed: number }[];
}

export interface JobLog {
  at: string;
  message: string;
}

/** One failed attempt of a job: its coded error and the stack it was thrown with (operators only). */
export interface JobAttempt {
  attempt: number;
  /** When it failed; null where the backend keeps no time for it (BullMQ's earlier attempts). */
  at: string | null;
  error: string;
  stack: string | null;
}

/** One point of a job's progress timeline (sampled: at most one a second). */
export interface ProgressPoint {
  at: string;
  progress: number;
  message: string | null;
}

/** The job interface every backend (SQLite, BullMQ) offers; handlers do not change between them. */
export interface JobQueue extends Service {
  readonly backend: 'sqlite' | 'bullmq';
  register(type: string, handler: JobHandler, options?: JobTypeOptions): void;
  registeredTypes(): string[];
  /** How the type was registered on this node (its payload check, whether callers may enqueue it). */
  typeOptions(type: string): JobTypeOptions | undefined;
  enqueue(spec: JobSpec): Promise<JobInfo>;
  /** Many jobs in one go; returns their ids in order. */
  enqueueBulk(specs: readonly JobSpec[]): Promise<string[]>;
  get(id: string): Promise<JobInfo>;
  list(filter?: JobFilter): Promise<JobPage>;
  cancel(id: string): Promise<JobInfo>;
  retry(id: string): Promise<JobInfo>;
  remove(id: string): Promise<void>;
  logs(id: string): Promise<JobLog[]>;
  /** Every failed attempt the backend kept, oldest first, with its stack. */
  attempts(id: string): Promise<JobAttempt[]>;
  /** The job's progress over time, oldest first. */
  timeline(id: string): Promise<ProgressPoint[]>;
  /** Runs a delayed job now (PH_BATCH_JOB_NOT_DELAYED when it is not delayed). */
  promote(id: string): Promise<JobInfo>;
  stats(): Promise<QueueCounts[]>;
}

export class JobCancelled extends Error {
  constructor() {
    super('The job was cancelled');
    this.name = 'JobCancelled';
  }
}

export class JobTimedOut extends Error {
  constructor(ms: number) {
    super(`The job timed out after ${ms} ms`);
    this.name = 'JobTimedOut';
  }
}

export class JobInterrupted extends Error {
  constructor() {
    super('The node is shutting down; the job will run again');
    this.name = 'JobInterrupted';
  }
}

/** Failures that another attempt cannot fix: the handler asked for none, or the payload is wrong. */
export function isFinalFailure(err: unknown): boolean {
  return err instanceof PhError && (err.code === 'PH_BATCH_JOB_UNRECOVERABLE' || err.code === 'PH_INVALID_INPUT');
}

/** A failed attempt as the job records it: the catalogue code first when the error has one. */
export function jobErrorText(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' && code.startsWith('PH_') ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}
