import { decodeCursor, encodeCursor } from '../core';

/**
 * A job's place in a list sorted by creation: its creation time, then its id (unique), so jobs
 * created in the same millisecond have an order too. A page's cursor is its last job's key: the
 * next page is the jobs strictly after it, so jobs created between pages are neither repeated nor
 * make others be skipped.
 */
export interface JobListKey {
  /** Creation time, ms since the epoch. */
  readonly at: number;
  readonly id: string;
}

/** Oldest first; the newest-first order is its reverse. Ids compare by length first, so BullMQ's counter ids sort as numbers. */
export function compareKeys(a: JobListKey, b: JobListKey): number {
  if (a.at !== b.at) return a.at - b.at;
  if (a.id.length !== b.id.length) return a.id.length - b.id.length;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Opaque to callers: a page's `nextCursor`, passed back as `cursor`. */
export function encodeJobListKey(key: JobListKey): string {
  return encodeCursor([key.at, key.id]);
}

export function decodeJobListKey(cursor: string): JobListKey {
  return decodeCursor(cursor, 2, ([at, id]) =>
    Number.isSafeInteger(at) && typeof id === 'string' && id.length > 0 ? { at: at as number, id } : null,
  );
}

/**
 * One page of `items` in the list's order (`oldest` or newest first), after `cursor` and `offset`,
 * and the cursor of the page after it (null when none follows).
 */
export function pageByKey<T>(
  items: readonly T[],
  keyOf: (item: T) => JobListKey,
  options: { oldest: boolean; cursor: JobListKey | null; offset: number; limit: number },
): { items: T[]; nextCursor: string | null } {
  const direction = options.oldest ? 1 : -1;
  const after = options.cursor;
  const ordered = items
    .filter((item) => after === null || direction * compareKeys(keyOf(item), after) > 0)
    .sort((a, b) => direction * compareKeys(keyOf(a), keyOf(b)));
  const page = ordered.slice(options.offset, options.offset + options.limit);
  const last = page.at(-1);
  const more = ordered.length > options.offset + options.limit;
  return { items: page, nextCursor: more && last !== undefined ? encodeJobListKey(keyOf(last)) : null };
}
