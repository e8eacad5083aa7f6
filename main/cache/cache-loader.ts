import { AsyncLocalStorage } from 'node:async_hooks';
import { PhError } from '../../contract/errors';
import type { Loader } from './cache-core';
import type { NamespaceStats } from './cache-stats';

/** Keys (`namespace\0key`) whose loader is running in this async context: a nested getOrSet on one of them must not wait for itself. */
const loading = new AsyncLocalStorage<ReadonlySet<string>>();

/** Whether the loader of `id` (`namespace\0key`) is this very call chain. */
export function insideLoaderOf(id: string): boolean {
  return loading.getStore()?.has(id) === true;
}

export interface LoaderRun {
  readonly namespace: string;
  readonly key: string;
  readonly loader: Loader<unknown>;
  readonly stale: { value: unknown } | undefined;
  readonly hardTimeout: number | undefined;
  readonly stats: NamespaceStats;
  /** Writes the loaded value through the tiers; the run settles after it. */
  readonly write: (value: unknown) => Promise<void>;
}

/** Calls the loader (marking the key as loading in this async chain), bounded by the hard timeout, then writes through. */
export function callLoader({ namespace, key, loader, stale, hardTimeout: hard, stats, write }: LoaderRun): Promise<unknown> {
  stats.loaderCalls += 1;
  const controller = new AbortController();
  const chain = new Set(loading.getStore());
  chain.add(namespace + '\u0000' + key);
  const t0 = performance.now();
  const run = loading.run(chain, async () => loader({ key, signal: controller.signal, stale: stale?.value }));
  const written = run.then(async (value) => {
    stats.record('loader', performance.now() - t0);
    await write(value);
    return value;
  });
  written.catch(() => undefined);
  if (hard === undefined) {
    return written.catch((err: unknown) => {
      stats.loaderErrors += 1;
      throw err;
    });
  }
  return new Promise((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      stats.loaderTimeouts += 1;
      controller.abort(new PhError('PH_CACHE_LOADER_TIMEOUT'));
      reject(new PhError('PH_CACHE_LOADER_TIMEOUT', `The loader for ${namespace}/${key} took longer than ${hard} ms`));
    }, hard);
    written.then(
      (value) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        stats.loaderErrors += 1;
        reject(err);
      },
    );
  });
}

/**
 * With a stale value at hand: whichever comes first, the loaded value or the soft timeout (then the
 * stale value, and `servedStale` is called). A failed load also answers with the stale value.
 */
export function freshOrStaleAt(load: Promise<unknown>, softMs: number, stale: unknown, servedStale: () => void): Promise<unknown> {
  return new Promise((resolve) => {
    let settled = false;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      servedStale();
      resolve(stale);
    }, softMs);
    load.then(
      (value) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(value);
      },
      () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        servedStale();
        resolve(stale);
      },
    );
  });
}
