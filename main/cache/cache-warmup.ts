import type { Static } from '@sinclair/typebox';
import type { CacheWarmProgressSchema } from '../../contract/ops/cache';
import type { CacheNamespace, Loader } from './cache-namespace';
import type { EntryOptions } from './options';

export type WarmProgress = Static<typeof CacheWarmProgressSchema>;

export interface WarmupList {
  /** The keys to warm (for example the hot set of yesterday). */
  readonly keys: () => readonly string[] | Promise<readonly string[]>;
  readonly loader: Loader<unknown>;
  readonly options?: EntryOptions;
  /** Run at start. Default true. */
  readonly atStart?: boolean;
}

export interface WarmOptions {
  onProgress?: (progress: WarmProgress) => void;
  signal?: AbortSignal;
}

/**
 * Runs one namespace's warm-up list: keys already cached (any tier) cost no loader call, a key whose
 * loader fails is counted and skipped. Progress goes to `publish` (the `cache.warm.progress` event)
 * and `onProgress` about twenty times a run and once at the end; `signal` stops between keys.
 */
export async function warmNamespace(
  ns: CacheNamespace,
  list: WarmupList,
  publish: (progress: WarmProgress) => void,
  options: WarmOptions,
): Promise<WarmProgress> {
  const keys = await list.keys();
  const progress: WarmProgress = { namespace: ns.name, total: keys.length, done: 0, fromCache: 0, loaded: 0, failed: 0, finished: false };
  const publishEvery = Math.max(1, Math.floor(keys.length / 20));
  for (const key of keys) {
    options.signal?.throwIfAborted();
    const before = ns.stats.loaderCalls;
    try {
      await ns.getOrSet(key, list.loader, list.options);
      if (ns.stats.loaderCalls > before) progress.loaded += 1;
      else progress.fromCache += 1;
    } catch {
      progress.failed += 1;
    }
    progress.done += 1;
    if (progress.done % publishEvery === 0 && progress.done < keys.length) {
      publish({ ...progress });
      options.onProgress?.({ ...progress });
    }
  }
  progress.finished = true;
  publish({ ...progress });
  options.onProgress?.({ ...progress });
  return progress;
}
