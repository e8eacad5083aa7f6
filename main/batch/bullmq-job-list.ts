import type { Job, JobType, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { PhError } from '../../contract/errors';
import { jobIdOf, type QueueRef } from './bullmq-names';
import { toBullTypes } from './bullmq-queues';
import { decodeJobListKey, pageByKey, type JobListKey } from './job-list-key';
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
 * How many jobs of each state of each queue a page reads (their ids and creation times, or whole
 * jobs for the filters BullMQ cannot apply itself: dead against cancelled, which share its `failed`
 * list; creation time). BullMQ keeps its lists by state, each in its own order, so a page in creation
 * order is found by reading them; jobs beyond this many in one state are not listed.
 */
const LIST_SCAN = 20_000;

/** A job as the list first reads it: where it is, and its place in the order. */
interface ListedJob extends JobListKey {
  readonly queue: Queue;
  readonly bullId: string;
}

interface Paging {
  readonly oldest: boolean;
  readonly cursor: JobListKey | null;
  readonly offset: number;
  readonly limit: number;
}

const infoKey = (info: JobInfo): JobListKey => ({ at: Date.parse(info.createdAt), id: info.id });

function inTime(job: JobInfo, filter: JobFilter): boolean {
  const at = Date.parse(job.createdAt);
  if (filter.createdAfter !== undefined && at < Date.parse(filter.createdAfter)) return false;
  if (filter.createdBefore !== undefined && at >= Date.parse(filter.createdBefore)) return false;
  return true;
}

function infoPage(infos: JobInfo[], paging: Paging): JobPage {
  const page = pageByKey(infos, infoKey, paging);
  return { jobs: page.items, total: infos.length, nextCursor: page.nextCursor };
}

/** The ids and creation times of a queue's jobs in these states, read without their payloads. */
async function listedIn(queue: Queue, ref: QueueRef, types: JobType[], oldest: boolean): Promise<ListedJob[]> {
  // BullMQ's getJobs reads a paused queue's `paused` list with `waiting`; getRanges leaves that to its caller.
  const states = types.includes('waiting') ? [...types, 'paused' as JobType] : types;
  const bullIds = await queue.getRanges(states, 0, LIST_SCAN - 1, oldest);
  if (bullIds.length === 0) return [];
  // BullMQ types its client by the few commands it uses itself; it is the ioredis client the queue was given.
  const pipeline = ((await queue.client) as unknown as Redis).pipeline();
  for (const bullId of bullIds) pipeline.hget(queue.toKey(bullId), 'timestamp');
  const replies = (await pipeline.exec()) ?? [];
  return bullIds.flatMap((bullId, i) => {
    const [err, timestamp] = replies[i] ?? [null, null];
    const at = Number(timestamp);
    // Gone between the two reads (finished and removed): not in this page.
    if (err !== null || typeof timestamp !== 'string' || !Number.isSafeInteger(at)) return [];
    return [{ queue, bullId, at, id: jobIdOf(ref, bullId) }];
  });
}

/** One page of jobs on BullMQ with the same filters and cursor (creation time, then id) as the SQLite queue's. */
export async function listBullJobs(deps: BullListDeps, filter: JobFilter): Promise<JobPage> {
  const limit = filter.limit ?? 50;
  const paging: Paging = {
    oldest: filter.sort === 'oldest',
    cursor: filter.cursor === undefined ? null : decodeJobListKey(filter.cursor),
    offset: filter.offset ?? 0,
    limit,
  };
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
    return infoPage((await Promise.all((await deps.childrenOf(parent)).map((j) => deps.info(j)))).filter(matches), paging);
  }
  let types: string[] | undefined;
  if (filter.search !== undefined) {
    const byId = await deps.find(filter.search).catch(() => null);
    if (byId !== null) {
      const info = await deps.info(byId);
      return infoPage(matches(info) ? [info] : [], paging);
    }
    const search = filter.search;
    types = (await deps.refs(filter.type)).map((r) => r.type).filter((t) => t.includes(search));
  }
  const refs = (await deps.refs(filter.type)).filter((r) => types === undefined || types.includes(r.type));
  const bullTypes = toBullTypes(filter.state);
  // Counts are BullMQ's own when they mean what the filter means; otherwise the jobs are read and counted.
  const exact =
    filter.state !== 'dead' && filter.state !== 'cancelled' && filter.createdAfter === undefined && filter.createdBefore === undefined;
  if (!exact) {
    const found: Job[] = [];
    for (const ref of refs) {
      const queue = await deps.lookup(ref);
      if (queue === null) continue;
      const jobs = (await queue.getJobs(bullTypes, 0, LIST_SCAN - 1, paging.oldest)) as (Job | null | undefined)[];
      found.push(...jobs.filter((j): j is Job => j != null));
    }
    return infoPage((await Promise.all(found.map((j) => deps.info(j)))).filter(matches), paging);
  }
  let total = 0;
  const listed: ListedJob[] = [];
  for (const ref of refs) {
    const queue = await deps.lookup(ref);
    if (queue === null) continue;
    total += Object.values(await queue.getJobCounts(...bullTypes)).reduce((a, b) => a + b, 0);
    listed.push(...(await listedIn(queue, ref, bullTypes, paging.oldest)));
  }
  const page = pageByKey(listed, (job) => job, paging);
  const jobs = await Promise.all(page.items.map((job) => job.queue.getJob(job.bullId)));
  return { jobs: await Promise.all(jobs.filter((j): j is Job => j != null).map((j) => deps.info(j))), total, nextCursor: page.nextCursor };
}
