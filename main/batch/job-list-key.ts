import { PhError } from '../../contract/errors';

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
  return Buffer.from(JSON.stringify([key.at, key.id])).toString('base64url');
}

export function decodeJobListKey(cursor: string): JobListKey {
  let parts: unknown;
  try {
    parts = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parts = null;
  }
  if (Array.isArray(parts) && parts.length === 2) {
    const [at, id] = parts as unknown[];
    if (Number.isSafeInteger(at) && typeof id === 'string' && id.length > 0) return { at: at as number, id };
  }
  throw new PhError('PH_INVALID_INPUT', 'The cursor is not one this list gave', { field: 'cursor' });
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
