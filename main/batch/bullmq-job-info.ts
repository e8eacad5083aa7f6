import type { Job } from 'bullmq';
import type { FleetSeal } from '../fleet';
import { keyedJobId, parseQueueName, jobIdOf } from './bullmq-names';
import type { StoredResult } from './job-results';
import { jobStates, type JobInfo, type JobState } from './job-types';
import { isoTime } from '../iso-time';

export const CANCELLED = 'cancelled';
/** Our -100..100 (higher first) onto BullMQ's 1..201 (lower first); every job gets one so the order is one order. */
export const toBullPriority = (p: number | undefined): number => 101 - (p ?? 0);
const fromBullPriority = (p: number | undefined) => (p === undefined || p === 0 ? 0 : 101 - p);

/**
 * What a BullMQ job's data holds: the payload, what BullMQ has no option for (the timeout), and the
 * fleet seal of the node that enqueued it (`by`, `at`, `mac`: see sealEnvelope), checked before it runs.
 */
export interface Envelope {
  ph: 1;
  payload: unknown;
  timeoutMs: number | null;
  by?: string;
  at?: number;
  mac?: string;
  /** Who enqueued it (an audit actor); sealed with the rest when present. */
  createdBy?: string;
  /** The idempotency key as the caller gave it; shown only when it hashes to the job id, so it needs no seal. */
  key?: string;
}

export function unwrap(data: unknown): { payload: unknown; timeoutMs: number | null } {
  if (typeof data === 'object' && data !== null && (data as Envelope).ph === 1) return data as Envelope;
  return { payload: data, timeoutMs: null };
}

const JOB = 'jobs.job';

/** The envelope of a job of `type`, sealed by this node: a job anyone wrote into Redis is not run. */
export function sealEnvelope(
  seal: FleetSeal,
  type: string,
  payload: unknown,
  timeoutMs: number | null,
  createdBy: string | null = null,
): Envelope {
  const at = seal.now();
  const mac = seal.mac(JOB, type, seal.nodeId, at, sealedParts(payload, timeoutMs, createdBy));
  return { ph: 1, payload, timeoutMs, by: seal.nodeId, at, mac, ...(createdBy === null ? {} : { createdBy }) };
}

/** What the seal covers; the creator only when there is one, so envelopes sealed before it existed still verify. */
function sealedParts(payload: unknown, timeoutMs: number | null, createdBy: string | null): string[] {
  const parts = [JSON.stringify(payload), String(timeoutMs)];
  return createdBy === null ? parts : [...parts, createdBy];
}

/**
 * True when the job's data was sealed by a fleet node for this job type (counted and logged
 * otherwise). No age limit: a job may wait for days; its id and the results guard against re-runs.
 */
export function envelopeSealed(seal: FleetSeal, type: string, data: unknown): boolean {
  const e = data as Partial<Envelope> | null;
  if (
    typeof e !== 'object' ||
    e === null ||
    e.ph !== 1 ||
    typeof e.by !== 'string' ||
    typeof e.at !== 'number' ||
    typeof e.mac !== 'string'
  ) {
    seal.reject(JOB, 'malformed');
    return false;
  }
  if (e.createdBy !== undefined && typeof e.createdBy !== 'string') {
    seal.reject(JOB, 'malformed');
    return false;
  }
  return seal.verify(JOB, type, e.by, e.at, e.mac, sealedParts(e.payload, e.timeoutMs ?? null, e.createdBy ?? null), false);
}

/** The job's id as the API shows it, from the queue it sits in. */
export function idOfJob(job: Job): string {
  const ref = parseQueueName(job.queueName) ?? { type: job.name, node: null };
  return jobIdOf(ref, job.id as string);
}

/**
 * One BullMQ job as the JobInfo every backend returns; `waitingFor` says why a placed job is not
 * running. The job's hash and its state are two reads: a job that finished between them is read
 * again (`reread`), or it would show as completed with no result.
 */
export async function toJobInfo(
  read: Job,
  waitingFor: (node: string) => Promise<string | null>,
  reread: () => Promise<Job | undefined>,
): Promise<JobInfo> {
  const bullState = await read.getState();
  const job = (bullState === 'completed' || bullState === 'failed') && read.finishedOn === undefined ? ((await reread()) ?? read) : read;
  const ref = parseQueueName(job.queueName) ?? { type: job.name, node: null };
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
  const parentRef = job.parent === undefined ? null : parseQueueName(job.parent.queueKey.slice(job.parent.queueKey.indexOf(':') + 1));
  const parent = job.parent === undefined ? null : jobIdOf(parentRef ?? { type: '?', node: null }, job.parent.id ?? '?');
  const idle = state === 'waiting' || state === 'delayed';
  return {
    id: jobIdOf(ref, job.id as string),
    type: job.name,
    payload,
    state,
    priority: fromBullPriority(job.opts.priority),
    runAt: isoTime(job.timestamp + (job.opts.delay ?? 0)),
    attemptsMade: job.attemptsMade,
    maxAttempts: job.opts.attempts ?? 1,
    timeoutMs,
    idempotencyKey: idempotencyKeyOf(job),
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
    createdAt: isoTime(job.timestamp),
    startedAt: job.processedOn === undefined ? null : isoTime(job.processedOn),
    finishedAt: job.finishedOn === undefined ? null : isoTime(job.finishedOn),
    createdBy: typeof (job.data as Partial<Envelope> | null)?.createdBy === 'string' ? ((job.data as Envelope).createdBy as string) : null,
    node: ref.node,
    waitingFor: idle && ref.node !== null ? await waitingFor(ref.node) : null,
  };
}

/** A completed job BullMQ no longer holds (let go after its retention, or lost with Redis), from its recorded result. */
export function infoFromResult(id: string, r: StoredResult, node: string | null): JobInfo {
  const at = new Date(r.finishedAt).toISOString();
  return {
    id,
    type: r.type,
    payload: null,
    state: 'completed',
    priority: 0,
    runAt: at,
    attemptsMade: 1,
    maxAttempts: 1,
    timeoutMs: null,
    idempotencyKey: null,
    repeatCron: null,
    parentId: null,
    childPolicy: 'fail-parent',
    pendingChildren: 0,
    progress: 1,
    progressMessage: `result recorded by ${r.node}`,
    result: r.result,
    lastError: null,
    errors: [],
    cancelRequested: false,
    createdAt: at,
    startedAt: null,
    finishedAt: at,
    createdBy: null,
    node,
    waitingFor: null,
  };
}

/** The key a job was enqueued with, as the caller wrote it; its hashed id for a job enqueued before the key was kept. */
function idempotencyKeyOf(job: Job): string | null {
  const id = job.opts.jobId;
  if (id?.startsWith('k-') !== true) return null;
  const key = (job.data as Partial<Envelope> | null)?.key;
  return typeof key === 'string' && keyedJobId(key) === id ? key : id;
}
