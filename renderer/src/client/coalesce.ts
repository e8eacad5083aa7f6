import { useCallback, useEffect, useRef } from 'react';

/**
 * A trigger that runs `fn` at most once per `ms` however often it is pulled: at once when `fn` has
 * not run for `ms`, else once when the `ms` are up. A storm of events then costs one read a second,
 * not one per event, and the last event of a burst is never left unread.
 */
export function useCoalesced(fn: () => void, ms: number): () => void {
  const latest = useRef(fn);
  latest.current = fn;
  const lastRun = useRef(0);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(
    () => () => {
      if (timer.current !== null) clearTimeout(timer.current);
      timer.current = null;
    },
    [],
  );
  return useCallback(() => {
    if (timer.current !== null) return;
    const run = () => {
      timer.current = null;
      lastRun.current = Date.now();
      latest.current();
    };
    const wait = lastRun.current + ms - Date.now();
    if (wait <= 0) run();
    else timer.current = setTimeout(run, wait);
  }, [ms]);
}
