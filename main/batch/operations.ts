import { PhError } from '../../contract/errors';
import { roleAllows } from '../../contract/roles';
import type { Caller, HandlersFor } from '../core';
import type { BatchEngine } from './batch-engine';
import type { ResourceRegistry } from './batch-registry';
import type { BatchSpec } from './batch-types';
import type { JobInfo, JobQueue, JobSpec } from './job-types';
import type { BatchReportShare } from './report-share';

type BatchOps =
  | 'jobs.stats'
  | 'jobs.list'
  | 'jobs.get'
  | 'jobs.attempts'
  | 'jobs.promote'
  | 'jobs.retryDead'
  | 'jobs.enqueue'
  | 'jobs.cancel'
  | 'jobs.retry'
  | 'jobs.delete'
  | 'batch.submit'
  | 'batch.status'
  | 'batch.reports'
  | 'batch.list';

export interface BatchHandlerDeps {
  readonly queue: JobQueue;
  readonly engine: BatchEngine;
  readonly registry: ResourceRegistry;
  /** With Redis: reports of batches applied on other nodes. */
  readonly reports?: BatchReportShare | null;
}

const ENDED: ReadonlySet<JobInfo['state']> = new Set(['completed', 'dead', 'cancelled']);

export function batchHandlers({ queue, engine, registry, reports = null }: BatchHandlerDeps): HandlersFor<BatchOps> {
  const checkTypes = (spec: JobSpec): void => {
    const known = new Set(queue.registeredTypes());
    const walk = (s: JobSpec, field: string): void => {
      if (!known.has(s.type)) {
        throw new PhError(
          'PH_BATCH_JOB_UNKNOWN_TYPE',
          `No handler is registered for job type ${JSON.stringify(s.type)}; known: ${[...known].join(', ')}`,
          {
            field,
          },
        );
      }
      const options = queue.typeOptions(s.type);
      if (options?.internal === true)
        throw new PhError('PH_FORBIDDEN', `Pilothouse enqueues ${s.type} jobs itself; a caller cannot`, { field });
      const prefix = field.replace(/type$/, '');
      try {
        options?.validatePayload?.(s.payload);
      } catch (err) {
        // The type's check names a field inside the payload; say where that payload sits in the request.
        if (err instanceof PhError && err.field !== undefined)
          throw new PhError(err.code, err.message, { field: `${prefix}payload.${err.field}` });
        throw err;
      }
      s.children?.forEach((c, i) => walk(c, `${prefix}children.${i}.type`));
    };
    walk(spec, 'type');
  };
  /**
   * An internal job that has not ended belongs to what Pilothouse runs through it (a saga, a webhook
   * delivery): cancelling or deleting the job would strand that, a saga in `running` with its
   * service drained. It is cancelled through its owner (`sagas.cancel`); an ended one may go.
   */
  const refuseUnendedInternal = async (id: string, what: 'cancelled' | 'deleted'): Promise<void> => {
    const job = await queue.get(id);
    if (queue.typeOptions(job.type)?.internal !== true || ENDED.has(job.state)) return;
    const owner = job.type.startsWith('saga.') ? 'cancel the saga with sagas.cancel' : 'it ends by itself (webhooks.redeliver resends)';
    throw new PhError('PH_FORBIDDEN', `A running ${job.type} job is Pilothouse's own and is not ${what} by hand: ${owner}`, {
      field: 'id',
    });
  };
  /** A job as the caller may read it: its type's `payloadRole` keeps payload and result from lower roles. */
  const readable = (job: JobInfo, caller: Caller): JobInfo => {
    const role = queue.typeOptions(job.type)?.payloadRole;
    return role === undefined || roleAllows(caller.role, role) ? job : { ...job, payload: null, result: null };
  };
  return {
    'jobs.stats': async () => ({
      backend: queue.backend,
      types: queue.registeredTypes(),
      enqueueable: queue.registeredTypes().filter((type) => queue.typeOptions(type)?.internal !== true),
      queues: await queue.stats(),
    }),
    'jobs.list': async (input, caller) => {
      if (input.parentIds !== undefined && (input.parentId !== undefined || input.offset !== undefined))
        throw new PhError('PH_INVALID_INPUT', 'parentIds reads the first page of each parent: not with parentId or offset', {
          field: 'parentIds',
        });
      const page = await queue.list(input);
      return { ...page, jobs: page.jobs.map((job) => readable(job, caller)) };
    },
    'jobs.get': async (input, caller) => {
      const job = await queue.get(input.id);
      const [logs, children, timeline] = await Promise.all([
        queue.logs(input.id),
        queue.list({ parentId: input.id, limit: 500 }),
        queue.timeline(input.id),
      ]);
      return { job: readable(job, caller), logs, children: children.jobs.map((child) => readable(child, caller)), timeline };
    },
    'jobs.attempts': async (input) => ({ attempts: await queue.attempts(input.id) }),
    'jobs.promote': async (input) => ({ job: await queue.promote(input.id) }),
    'jobs.retryDead': (input) => retryDead(queue, input.type, input.limit ?? MAX_RETRY_DEAD),
    'jobs.enqueue': async (input, caller) => {
      checkTypes(input);
      return { job: await queue.enqueue({ ...input, createdBy: caller.actor }) };
    },
    'jobs.cancel': async (input) => {
      await refuseUnendedInternal(input.id, 'cancelled');
      return { job: await queue.cancel(input.id) };
    },
    'jobs.retry': async (input) => ({ job: await queue.retry(input.id) }),
    'jobs.delete': async (input) => {
      await refuseUnendedInternal(input.id, 'deleted');
      await queue.remove(input.id);
      return { deleted: true };
    },
    'batch.submit': async (input, caller) => {
      const spec = input.batch as BatchSpec;
      for (const [i, op] of spec.operations.entries()) {
        if (!registry.has(op.resource)) {
          throw new PhError(
            'PH_BATCH_UNKNOWN_RESOURCE',
            `Operation ${i}: no resource type ${JSON.stringify(op.resource)}; known: ${registry.names().join(', ')}`,
            {
              field: `batch.operations.${i}.resource`,
            },
          );
        }
      }
      if (input.background === true) {
        const job = await queue.enqueue({ type: 'batch.apply', payload: spec, attempts: 3, createdBy: caller.actor });
        return { report: null, jobId: job.id };
      }
      return { report: await engine.apply(spec), jobId: null };
    },
    'batch.status': async (input) => {
      try {
        return engine.get(input.id);
      } catch (err) {
        // Applied on another node: its report as that node published it.
        const shared = err instanceof PhError && err.code === 'PH_BATCH_NOT_FOUND' ? await reports?.get(input.id).catch(() => null) : null;
        if (shared == null) throw err;
        return shared;
      }
    },
    'batch.reports': async (input) => {
      const mine = engine.getMany(input.ids).map((r) => (reports === null ? r : { ...r, node: reports.node }));
      if (reports === null || mine.length === input.ids.length) return { reports: mine };
      // Batches applied on other nodes: their reports as those nodes published them, in one more read.
      const held = new Set(mine.map((r) => r.batchId));
      const others = await reports.getMany(input.ids.filter((id) => !held.has(id))).catch(() => []);
      return { reports: [...mine, ...others] };
    },
    'batch.list': async (input) => {
      const limit = input.limit ?? 50;
      const mine = engine.list(limit).map((b) => (reports === null ? b : { ...b, node: reports.node }));
      if (reports === null) return { batches: mine, resources: registry.names() };
      const seen = new Set(mine.map((b) => b.batchId));
      const others = (await reports.list(limit).catch(() => [])).filter((b) => !seen.has(b.batchId));
      const batches = [...mine, ...others].sort((a, b) => b.createdAt.localeCompare(a.createdAt)).slice(0, limit);
      return { batches, resources: registry.names() };
    },
  };
}

const MAX_RETRY_DEAD = 10_000;

/**
 * Retries the dead jobs of one type, oldest first. The ids are read first, every page, and retried
 * after: retrying while paging would move jobs out of the list being paged.
 */
async function retryDead(
  queue: JobQueue,
  type: string,
  limit: number,
): Promise<{ retried: number; failed: { id: string; code: string }[] }> {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await queue.list({
      state: 'dead',
      type,
      sort: 'oldest',
      limit: Math.min(500, limit - ids.length),
      ...(cursor === undefined ? {} : { cursor }),
    });
    ids.push(...page.jobs.map((j) => j.id));
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined && ids.length < limit);
  let retried = 0;
  const failed: { id: string; code: string }[] = [];
  for (const id of ids) {
    try {
      await queue.retry(id);
      retried += 1;
    } catch (err) {
      // One job gone or changed meanwhile (deleted, retried by someone else) does not stop the rest.
      failed.push({ id, code: err instanceof PhError ? err.code : 'PH_INTERNAL' });
    }
  }
  return { retried, failed };
}
