import type { Job, Queue } from 'bullmq';
import { PhError } from '../../contract/errors';
import type { QueueRef } from './bullmq-names';
import { toBullTypes } from './bullmq-queues';
import type { JobFilter, JobInfo, JobPage } from './job-types';

/** What the BullMQ list reads through: the queue's own parts, passed in so this file owns only the paging. */
export interface BullListDeps {
  refs(type: string | undefined): Promise<QueueRef[]>;
  /** The queue of a ref, or null when it does not exist (yet). */
  lookup(ref: QueueRef): Promise<Queue | null>;
  find(id: string): Promise<Job | null>;
  childrenOf(job: Job): Promise<Job[]>;
  info(job: Job): Promise<JobInfo>;
  /** Throws PH_BATCH_JOB_NOT_FOUND for an id that is neither in Redis nor among kept results. */
  get(id: string): Promise<JobInfo>;
}

/**
 * Filters BullMQ cannot apply itself (dead against cancelled, which share its `failed` list; creation
 * time) are applied here over at most this many jobs per queue, so their totals are counted, not guessed.
 */
const FILTER_SCAN = 20_000;

/** BullMQ has no keyset order across queues: the cursor is the count of jobs already shown, written `o<n>`. */
function cursorOffset(cursor: string | undefined): number {
  if (cursor === undefined) return 0;
  const m = /^o(\d{1,9})$/.exec(cursor);
  if (m === null) throw new PhError('PH_INVALID_INPUT', 'The cursor is not one this list gave', { field: 'cursor' });
  return Number(m[1]);
}

function inTime(job: JobInfo, filter: JobFilter): boolean {
  const at = Date.parse(job.createdAt);
  if (filter.createdAfter !== undefined && at < Date.parse(filter.createdAfter)) return false;
  if (filter.createdBefore !== undefined && at >= Date.parse(filter.createdBefore)) return false;
  return true;
}

function page(infos: JobInfo[], total: number, start: number, limit: number): JobPage {
  const jobs = infos.slice(start, start + limit);
  return { jobs, total, nextCursor: start + limit < total ? `o${start + limit}` : null };
}

/** One page of jobs on BullMQ with the same filters and cursor as the SQLite queue's. */
export async function listBullJobs(deps: BullListDeps, filter: JobFilter): Promise<JobPage> {
  const limit = filter.limit ?? 50;
  const start = (filter.offset ?? 0) + cursorOffset(filter.cursor);
  if (filter.parentIds !== undefined) {
    // BullMQ keeps children per parent: one read each, together; a parent it let go has none left.
    const state = filter.state === undefined ? {} : { state: filter.state };
    const pages = await Promise.all(
      filter.parentIds.map((parentId) =>
        listBullJobs(deps, { ...state, parentId, limit }).catch((err: unknown) => {
          if (err instanceof PhError && err.code === 'PH_BATCH_JOB_NOT_FOUND') return { jobs: [], total: 0, nextCursor: null };
          throw err;
        }),
      ),
    );
    return { jobs: pages.flatMap((p) => p.jobs), total: pages.reduce((n, p) => n + p.total, 0), nextCursor: null };
  }
  const matches = (j: JobInfo) => (filter.state === undefined || j.state === filter.state) && inTime(j, filter);
  if (filter.parentId !== undefined) {
    // A job BullMQ let go (its result is kept, `get`) has no children left to list.
    const parent = await deps.find(filter.parentId);
    if (parent === null) {
      await deps.get(filter.parentId);
      return { jobs: [], total: 0, nextCursor: null };
    }
    const infos = (await Promise.all((await deps.childrenOf(parent)).map((j) => deps.info(j)))).filter(matches);
    return page(infos, infos.length, start, limit);
  }
  let types: string[] | undefined;
  if (filter.search !== undefined) {
    const byId = await deps.find(filter.search).catch(() => null);
    if (byId !== null) {
      const info = await deps.info(byId);
      return matches(info) ? page([info], 1, start, limit) : { jobs: [], total: 0, nextCursor: null };
    }
    const search = filter.search;
    types = (await deps.refs(filter.type)).map((r) => r.type).filter((t) => t.includes(search));
  }
  const refs = (await deps.refs(filter.type)).filter((r) => types === undefined || types.includes(r.type));
  const bullTypes = toBullTypes(filter.state);
  // Counts are BullMQ's own when they mean what the filter means; otherwise the jobs are read and counted.
  const exact =
    filter.state !== 'dead' && filter.state !== 'cancelled' && filter.createdAfter === undefined && filter.createdBefore === undefined;
  let total = 0;
  const found: Job[] = [];
  for (const ref of refs) {
    const queue = await deps.lookup(ref);
    if (queue === null) continue;
    if (exact) total += Object.values(await queue.getJobCounts(...bullTypes)).reduce((a, b) => a + b, 0);
    const end = exact ? start + limit - 1 : FILTER_SCAN - 1;
    found.push(
      ...((await queue.getJobs(bullTypes, 0, end, filter.sort === 'oldest')) as (Job | null | undefined)[]).filter(
        (j): j is Job => j != null,
      ),
    );
  }
  found.sort((a, b) => (filter.sort === 'oldest' ? a.timestamp - b.timestamp : b.timestamp - a.timestamp));
  if (exact) {
    const jobs = await Promise.all(found.slice(start, start + limit).map((j) => deps.info(j)));
    return { jobs, total, nextCursor: start + limit < total ? `o${start + limit}` : null };
  }
  const infos = (await Promise.all(found.map((j) => deps.info(j)))).filter(matches);
  return page(infos, infos.length, start, limit);
}
