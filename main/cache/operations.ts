import { PhError } from '../../contract/errors';
import { roleAllows } from '../../contract/roles';
import type { HandlersFor } from '../core';
import { withoutKeyNames } from './cache-analytics';
import type { TieredCache } from './tiered-cache';

const PREVIEW_CHARS = 2000;
/** Past this the inspector shows the preview only: a tree of a huge value would stall the console. */
const MAX_TREE_CHARS = 256 * 1024;

type CacheOps =
  | 'cache.get'
  | 'cache.put'
  | 'cache.delete'
  | 'cache.stats'
  | 'cache.keys'
  | 'cache.inspect'
  | 'cache.invalidate'
  | 'cache.invalidateMatching'
  | 'cache.clear'
  | 'cache.warm';

export function cacheHandlers(cache: TieredCache): HandlersFor<CacheOps> {
  return {
    'cache.get': async ({ namespace, key }) => {
      const found = await cache.namespace(namespace).lookup(key);
      if (found === undefined) throw new PhError('PH_CACHE_MISS', `No fresh value for ${namespace}/${key}`);
      return { namespace, key, value: found.value, ...(found.stale ? { stale: true as const } : {}) };
    },
    'cache.put': async ({ namespace, key, value, ttl, grace, tags }) => {
      await cache.namespace(namespace).set(key, value, {
        ...(ttl === undefined ? {} : { ttl }),
        ...(grace === undefined ? {} : { grace }),
        ...(tags === undefined ? {} : { tags }),
      });
      cache.announceWritten(namespace, key);
      return { namespace, key };
    },
    'cache.delete': async ({ namespace, key }) => ({ removed: await cache.namespace(namespace).delete([key]) }),
    'cache.stats': (_input, caller) => (roleAllows(caller.role, 'operator') ? cache.stats() : withoutKeyNames(cache.stats())),
    'cache.keys': (input) =>
      cache.keys(input.namespace, {
        ...(input.prefix === undefined ? {} : { prefix: input.prefix }),
        ...(input.pattern === undefined ? {} : { pattern: input.pattern }),
        ...(input.tier === undefined ? {} : { tier: input.tier }),
        ...(input.cursor === undefined ? {} : { cursor: input.cursor }),
        limit: input.limit ?? 100,
      }),
    'cache.inspect': async (input) => {
      const { tiers, value } = await cache.namespace(input.namespace).inspect(input.key);
      const json = value === undefined ? undefined : jsonOf(value);
      return {
        namespace: input.namespace,
        key: input.key,
        tiers,
        preview: value === undefined ? null : preview(value),
        ...(json !== undefined && json.length <= MAX_TREE_CHARS ? { value: JSON.parse(json) as unknown } : {}),
      };
    },
    'cache.invalidate': async (input) => {
      if ((input.keys?.length ?? 0) === 0 && (input.tags?.length ?? 0) === 0) {
        throw new PhError('PH_INVALID_INPUT', 'Give keys or tags to invalidate (to drop a whole namespace use cache.clear)', {
          field: 'keys',
        });
      }
      return { removed: await cache.invalidate(input) };
    },
    'cache.invalidateMatching': async ({ namespace, pattern }) => {
      // One gathering of every tier (one SCAN walk), not cache.keys page by page, which gathers
      // again for each page. A tier it could not read is named, as cache.keys does, instead of
      // passing a short count off as whole.
      const { keys, unavailable } = await cache.matchingKeys(namespace, { pattern });
      let removed = 0;
      // cache.invalidate's own bound: 1000 keys a message on the bus.
      for (let i = 0; i < keys.length; i += 1000) removed += await cache.invalidate({ namespace, keys: keys.slice(i, i + 1000) });
      return { matched: keys.length, removed, unavailable };
    },
    'cache.clear': async (input) => {
      if (input.namespace !== undefined) return { removed: await cache.namespace(input.namespace).clear(), namespaces: [input.namespace] };
      if (input.everything !== true) {
        throw new PhError('PH_INVALID_INPUT', 'Name a namespace, or pass everything: true to clear every namespace', {
          field: 'namespace',
        });
      }
      return cache.clearAll();
    },
    'cache.warm': async (input) => ({ results: await cache.warm(input.namespace) }),
  };
}

/** The JSON of a value, or undefined for one JSON cannot carry (a cycle, a BigInt). */
function jsonOf(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}

function preview(value: unknown): string {
  let text: string;
  try {
    text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  } catch {
    text = Object.prototype.toString.call(value);
  }
  return text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS)}…` : text;
}
