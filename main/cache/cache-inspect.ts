import type { LRUCache } from 'lru-cache';
import type { L1Entry } from './cache-core';

/** One tier's copy of a key, as the console's inspector shows it. */
export interface StoredEntryView {
  size: number;
  freshUntil: number;
  staleUntil: number;
  createdAt: number;
  tags: string[];
  fresh: boolean;
}

/** A tier's entry as the inspector shows it; null when it is absent or past its grace at `now`. */
export function entryView(
  e: { freshUntil: number; staleUntil: number; createdAt: number; tags: readonly string[] } | null | undefined,
  size: number,
  now: number,
): StoredEntryView | null {
  return e === null || e === undefined || e.staleUntil <= now
    ? null
    : {
        size,
        freshUntil: e.freshUntil,
        staleUntil: e.staleUntil,
        createdAt: e.createdAt,
        tags: [...e.tags],
        fresh: e.freshUntil > now,
      };
}

/** The `limit` largest keys in an L1, without sorting all of it: the list is cut back whenever it grows past four times that. */
export function largestEntries(lru: LRUCache<string, L1Entry>, limit: number): { key: string; size: number }[] {
  const top: { key: string; size: number }[] = [];
  for (const [key, e] of lru.entries()) {
    top.push({ key, size: e.size });
    if (top.length > limit * 4) {
      top.sort((a, b) => b.size - a.size);
      top.length = limit;
    }
  }
  return top.sort((a, b) => b.size - a.size).slice(0, limit);
}
