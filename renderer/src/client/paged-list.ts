import { useCallback, useEffect, useRef, useState } from 'react';
import { ClientError } from './client';
import { useReadAgainWhenAllowed } from './client-context';

/** One page of a server-side list: its rows, the true total the filters match, and where the next page starts. */
export interface Page<R> {
  readonly items: readonly R[];
  readonly total: number;
  readonly nextCursor: string | null;
}

export interface PagedList<R> {
  /** Every row loaded so far, first page first; undefined before the first answer. */
  rows: readonly R[] | undefined;
  total: number | undefined;
  error: ClientError | null;
  loading: boolean;
  hasMore: boolean;
  loadMore: () => void;
  reload: () => void;
}

/** A reload keeps what was loaded in view (up to the largest page an operation answers). */
const MAX_RELOAD = 500;

/**
 * A list paged by the server: the first page on mount and whenever `key` (the filters) changes,
 * the next on `loadMore()`. `reload()` (e.g. on an event) reads again from the top as many rows as
 * are shown, so live updates do not throw away the pages the operator loaded.
 */
export function usePagedList<R>(
  fetchPage: (cursor: string | undefined, limit: number) => Promise<Page<R>>,
  key: string,
  pageSize = 50,
): PagedList<R> {
  const [rows, setRows] = useState<readonly R[]>();
  const [total, setTotal] = useState<number>();
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<ClientError | null>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const fetchRef = useRef(fetchPage);
  fetchRef.current = fetchPage;
  const shown = useRef(0);
  // Answers of an older request (filters since changed, or a reload since) are dropped.
  const generation = useRef(0);
  const lastKey = useRef(key);

  const fail = (err: unknown) => setError(err instanceof ClientError ? err : new ClientError('PH_INTERNAL', String(err)));

  useEffect(() => {
    const keyChanged = lastKey.current !== key;
    lastKey.current = key;
    if (keyChanged) shown.current = 0;
    const mine = ++generation.current;
    setLoading(true);
    const limit = Math.min(MAX_RELOAD, Math.max(pageSize, shown.current));
    fetchRef.current(undefined, limit).then(
      (page) => {
        if (mine !== generation.current) return;
        shown.current = page.items.length;
        setRows(page.items);
        setTotal(page.total);
        setNext(page.nextCursor);
        setError(null);
        setLoading(false);
      },
      (err: unknown) => {
        if (mine !== generation.current) return;
        fail(err);
        setLoading(false);
      },
    );
  }, [key, tick, pageSize]);

  const loadMore = useCallback(() => {
    if (next === null) return;
    const mine = generation.current;
    setLoading(true);
    fetchRef.current(next, pageSize).then(
      (page) => {
        if (mine !== generation.current) return;
        setRows((before) => {
          const all = [...(before ?? []), ...page.items];
          shown.current = all.length;
          return all;
        });
        setTotal(page.total);
        setNext(page.nextCursor);
        setLoading(false);
      },
      (err: unknown) => {
        if (mine !== generation.current) return;
        fail(err);
        setLoading(false);
      },
    );
  }, [next, pageSize]);

  const reload = useCallback(() => setTick((t) => t + 1), []);
  useReadAgainWhenAllowed(error, reload);
  return { rows, total, error, loading, hasMore: next !== null, loadMore, reload };
}

/** A filter as typed, applied once typing pauses, so a long id or pattern is one request, not one per key. */
export function useSettled(value: string, ms = 250): string {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}
