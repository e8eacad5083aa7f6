/** What the Jobs view's parts share: the row types, live reloads and progress, and the state badge. */
import { useEffect, useRef, useState } from 'react';
import type { OperationResult } from '../../../contract/operations';
import { useClient } from '../client/client-context';

export type Job = OperationResult<'jobs.list'>['jobs'][number];
export type Queue = OperationResult<'jobs.stats'>['queues'][number];
export type StateFilter = Job['state'] | 'all';

export const stateFilters: StateFilter[] = ['all', 'waiting', 'delayed', 'active', 'waiting-children', 'completed', 'dead', 'cancelled'];
const stateColor: Record<Job['state'], string> = {
  waiting: 'var(--accent)',
  delayed: 'var(--idle)',
  active: 'var(--ok)',
  'waiting-children': 'var(--warn)',
  completed: 'var(--ok)',
  dead: 'var(--bad)',
  cancelled: 'var(--idle)',
};

/** Reloads at most every `ms` while `events` keep arriving: a busy queue must not reload the view per job. */
export function useThrottledReload(reload: () => void, events: readonly string[], ms = 500): void {
  const client = useClient();
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => {
    const names = new Set(events);
    const off = client.onEvent((m) => {
      if (!names.has(m.event) || timer.current !== null) return;
      timer.current = setTimeout(() => {
        timer.current = null;
        reload();
      }, ms);
    });
    return () => {
      off();
      if (timer.current !== null) clearTimeout(timer.current);
      timer.current = null;
    };
  }, [client, reload, ms, events.join(',')]); // eslint-disable-line react-hooks/exhaustive-deps
}

/** Live progress from `jobs.progress` events, over what the last list said. */
export function useLiveProgress(): Map<string, { progress: number; message: string | null }> {
  const client = useClient();
  const [live, setLive] = useState(() => new Map<string, { progress: number; message: string | null }>());
  useEffect(
    () =>
      client.onEvent((m) => {
        if (m.event !== 'jobs.progress') return;
        setLive((prev) => new Map(prev).set(m.payload.id, { progress: m.payload.progress, message: m.payload.message }));
      }),
    [client],
  );
  return live;
}

export function ProgressBar({
  label,
  value,
  state,
  message,
}: {
  label: string;
  value: number;
  state: Job['state'];
  message: string | null;
}) {
  const pct = Math.round(Math.min(1, Math.max(0, value)) * 100);
  return (
    <div title={message ?? undefined} style={{ minWidth: 140 }}>
      <div
        role="progressbar"
        aria-label={label}
        aria-valuenow={pct}
        aria-valuemin={0}
        aria-valuemax={100}
        style={{ height: 8, background: 'var(--panel-2)', borderRadius: 4, overflow: 'hidden' }}
      >
        <div style={{ width: `${pct}%`, height: '100%', background: stateColor[state], transition: 'width 0.3s' }} />
      </div>
      <div className="small muted" style={{ marginTop: 2 }}>
        {pct}%{message !== null ? ` · ${message}` : ''}
      </div>
    </div>
  );
}

export function StateBadge({ state }: { state: Job['state'] }) {
  return (
    <span className="badge" style={{ color: stateColor[state], background: 'var(--panel-2)' }}>
      {state}
    </span>
  );
}
