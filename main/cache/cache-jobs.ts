import { PhError } from '../../contract/errors';
import type { JobQueue } from '../batch';
import type { TieredCache } from './tiered-cache';

/**
 * `cache.warm` as a durable job, so a warm-up can be queued, scheduled with cron, watched and
 * cancelled like any other work: payload `{ namespace? }` (every namespace with a warm-up list when
 * absent). Keys already in a tier cost no loader call, so a re-run after a crash is cheap. Warm-up
 * lists are registered in code on each node; the enqueuing node's lists are the ones checked.
 */
export function registerCacheJobs(queue: Pick<JobQueue, 'register'>, cache: Pick<TieredCache, 'warm' | 'warmupNames'>): void {
  queue.register(
    'cache.warm',
    async (payload, ctx) => {
      const namespace = readNamespace(payload);
      ctx.progress(0, namespace === undefined ? 'every namespace' : `namespace ${namespace}`);
      const results = await cache.warm(namespace, {
        signal: ctx.signal,
        onProgress: (p) => ctx.progress(p.total === 0 ? 1 : p.done / p.total, `${p.namespace}: ${p.done} of ${p.total} keys`),
      });
      for (const r of results) ctx.log(`${r.namespace}: ${r.fromCache} already cached, ${r.loaded} loaded, ${r.failed} failed`);
      return { results };
    },
    {
      concurrency: 1,
      // A namespace without a list here is refused at enqueue rather than failing its every try.
      validatePayload: (payload) => {
        const namespace = readNamespace(payload);
        if (namespace !== undefined && !cache.warmupNames().includes(namespace))
          throw new PhError('PH_NOT_FOUND', `Namespace ${namespace} has no warm-up list on this node`, { field: 'namespace' });
      },
    },
  );
}

function readNamespace(payload: unknown): string | undefined {
  const { namespace } = (payload ?? {}) as { namespace?: unknown };
  if (namespace === undefined) return undefined;
  if (typeof namespace !== 'string' || namespace === '')
    throw new PhError('PH_INVALID_INPUT', 'cache.warm takes { namespace?: string }', { field: 'namespace' });
  return namespace;
}
