import { useEffect, useMemo, useRef, useState } from 'react';
import type { OperationResult } from '../../../contract/operations';
import { useAction, useClient, useOperation, useSession } from '../client/client-context';
import { DataTable } from '../components/data-table';
import { Card, EmptyState, ErrorBanner, PageHeader, Stat, formatTime } from '../components/ui';

type Job = OperationResult<'jobs.list'>['jobs'][number];
type Queue = OperationResult<'jobs.stats'>['queues'][number];
type StateFilter = Job['state'] | 'all';

const stateFilters: StateFilter[] = ['all', 'waiting', 'delayed', 'active', 'waiting-children', 'completed', 'dead', 'cancelled'];
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
function useThrottledReload(reload: () => void, events: readonly string[], ms = 500): void {
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
function useLiveProgress(): Map<string, { progress: number; message: string | null }> {
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

function ProgressBar({ label, value, state, message }: { label: string; value: number; state: Job['state']; message: string | null }) {
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

function StateBadge({ state }: { state: Job['state'] }) {
  return (
    <span className="badge" style={{ color: stateColor[state], background: 'var(--panel-2)' }}>
      {state}
    </span>
  );
}

/** Completed and failed per 5 s over the last minutes, all types together, as bars. */
function ThroughputChart({ queues }: { queues: readonly Queue[] }) {
  const series = useMemo(() => {
    const first = queues[0]?.throughput ?? [];
    return first.map((bucket, i) => ({
      at: bucket.at,
      completed: queues.reduce((sum, q) => sum + (q.throughput[i]?.completed ?? 0), 0),
      failed: queues.reduce((sum, q) => sum + (q.throughput[i]?.failed ?? 0), 0),
    }));
  }, [queues]);
  if (series.length === 0) return <div className="muted">No job types yet.</div>;
  const width = 760;
  const height = 120;
  const max = Math.max(1, ...series.map((b) => b.completed + b.failed));
  const bar = width / series.length;
  const total = series.reduce((s, b) => s + b.completed, 0);
  const failed = series.reduce((s, b) => s + b.failed, 0);
  return (
    <div data-testid="throughput-chart">
      <svg
        viewBox={`0 0 ${width} ${height + 16}`}
        width="100%"
        role="img"
        aria-label={`Throughput: ${total} completed, ${failed} failed in the last ${Math.round((series.length * 5) / 60)} minutes`}
      >
        <line x1={0} x2={width} y1={height} y2={height} stroke="var(--border)" />
        {series.map((b, i) => {
          const hc = (b.completed / max) * (height - 4);
          const hf = (b.failed / max) * (height - 4);
          return (
            <g key={b.at}>
              <rect x={i * bar + 1} y={height - hc} width={Math.max(1, bar - 2)} height={hc} fill="var(--ok)" opacity={0.8} />
              <rect x={i * bar + 1} y={height - hc - hf} width={Math.max(1, bar - 2)} height={hf} fill="var(--bad)" opacity={0.85} />
            </g>
          );
        })}
        <text x={0} y={height + 13} fill="var(--muted)" fontSize={11}>
          {new Date(series[0]?.at ?? Date.now()).toLocaleTimeString()}
        </text>
        <text x={width} y={height + 13} fill="var(--muted)" fontSize={11} textAnchor="end">
          now · peak {max} per 5 s
        </text>
      </svg>
      <div className="small muted">
        <span style={{ color: 'var(--ok)' }}>■</span> completed {total} · <span style={{ color: 'var(--bad)' }}>■</span> failed attempts{' '}
        {failed}
      </div>
    </div>
  );
}

function JobDetail({ id, onClose }: { id: string; onClose: () => void }) {
  const detail = useOperation('jobs.get', { id }, { refreshOn: ['jobs.changed'] });
  const job = detail.data?.job;
  return (
    <Card title={`Job ${id}`}>
      <ErrorBanner error={detail.error} />
      {job !== undefined && (
        <div data-testid="job-detail" style={{ display: 'grid', gap: 10 }}>
          <div>
            <StateBadge state={job.state} /> <strong>{job.type}</strong> · attempt {job.attemptsMade} of {job.maxAttempts} · priority{' '}
            {job.priority}
            {job.repeatCron !== null && (
              <>
                {' '}
                · repeats <code>{job.repeatCron}</code>
              </>
            )}
            {job.parentId !== null && <> · parent {job.parentId}</>}
            <button className="link" style={{ float: 'right' }} onClick={onClose}>
              Close
            </button>
          </div>
          <div className="small muted">
            created {formatTime(job.createdAt)} · started {formatTime(job.startedAt)} · finished {formatTime(job.finishedAt)}
          </div>
          <label>
            Payload
            <pre className="secret mono" style={{ margin: 0, maxHeight: 160, overflow: 'auto' }}>
              {JSON.stringify(job.payload, null, 2)}
            </pre>
          </label>
          {job.result !== null && (
            <label>
              Result
              <pre className="secret mono" style={{ margin: 0, maxHeight: 120, overflow: 'auto' }}>
                {JSON.stringify(job.result, null, 2)}
              </pre>
            </label>
          )}
          {job.errors.length > 0 && (
            <label>
              Errors
              <ul className="mono" style={{ margin: 0, color: 'var(--bad)' }}>
                {job.errors.map((e, i) => (
                  <li key={i}>{e}</li>
                ))}
              </ul>
            </label>
          )}
          {(detail.data?.logs.length ?? 0) > 0 && (
            <label>
              Log
              <ul className="mono small" style={{ margin: 0 }}>
                {detail.data?.logs.map((l, i) => (
                  <li key={i}>
                    <span className="muted">{new Date(l.at).toLocaleTimeString()}</span> {l.message}
                  </li>
                ))}
              </ul>
            </label>
          )}
          {(detail.data?.children.length ?? 0) > 0 && (
            <label>
              Children
              <table className="table">
                <tbody>
                  {detail.data?.children.map((c) => (
                    <tr key={c.id}>
                      <td className="mono">{c.id}</td>
                      <td>{c.type}</td>
                      <td>
                        <StateBadge state={c.state} />
                      </td>
                      <td>{c.childPolicy}</td>
                      <td className="muted wrap-anywhere">{c.lastError ?? ''}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </label>
          )}
        </div>
      )}
    </Card>
  );
}

export function JobsView() {
  const { role } = useSession();
  const canAct = role !== 'viewer';
  const [filter, setFilter] = useState<StateFilter>('all');
  const [selected, setSelected] = useState<string | null>(null);
  const stats = useOperation('jobs.stats', {}, { intervalMs: 5_000 });
  const list = useOperation('jobs.list', filter === 'all' ? { limit: 50 } : { state: filter, limit: 50 });
  const dead = useOperation('jobs.list', { state: 'dead', limit: 20 });
  const cancel = useAction('jobs.cancel');
  const retry = useAction('jobs.retry');
  const remove = useAction('jobs.delete');
  const live = useLiveProgress();
  const reloadAll = useMemo(
    () => () => {
      stats.reload();
      list.reload();
      dead.reload();
    },
    [stats.reload, list.reload, dead.reload], // eslint-disable-line react-hooks/exhaustive-deps
  );
  useThrottledReload(reloadAll, ['jobs.changed']);

  const queues = stats.data?.queues ?? [];
  const sum = (key: keyof Queue['counts']) => queues.reduce((s, q) => s + q.counts[key], 0);
  const act = async (what: 'cancel' | 'retry' | 'delete', job: Job) => {
    const question = {
      cancel: `Cancel job ${job.id} (${job.type})?${job.state === 'active' ? ' Its handler is told to stop at once.' : ''}`,
      retry: `Run job ${job.id} (${job.type}) again, with its attempts reset?`,
      delete: `Delete job ${job.id} (${job.type})? This cannot be undone.`,
    }[what];
    if (!window.confirm(question)) return;
    const action = { cancel, retry, delete: remove }[what];
    await action.run({ id: job.id });
    reloadAll();
  };
  const actions = (job: Job) =>
    canAct && (
      <div style={{ display: 'flex', gap: 6, justifyContent: 'flex-end' }}>
        {['waiting', 'delayed', 'active', 'waiting-children'].includes(job.state) && (
          <button className="danger" onClick={() => void act('cancel', job)}>
            Cancel
          </button>
        )}
        {(job.state === 'dead' || job.state === 'cancelled') && <button onClick={() => void act('retry', job)}>Retry</button>}
        {job.state !== 'active' && (
          <button className="link" onClick={() => void act('delete', job)}>
            Delete
          </button>
        )}
      </div>
    );

  return (
    <>
      <PageHeader
        title="Jobs"
        subtitle={
          stats.data === undefined
            ? 'Durable jobs and batches'
            : `Durable job queue on ${stats.data.backend === 'sqlite' ? 'SQLite (this machine)' : 'BullMQ (shared Redis)'} · ${stats.data.types.length} job types`
        }
      />
      <ErrorBanner
        error={stats.error ?? list.error ?? cancel.error ?? retry.error ?? remove.error}
        onDismiss={() => (cancel.clearError(), retry.clearError(), remove.clearError())}
      />
      <div className="stats" data-testid="job-counts">
        <Stat label="Running" value={sum('active')} tone={sum('active') > 0 ? 'ok' : undefined} />
        <Stat label="Waiting" value={sum('waiting')} />
        <Stat label="Delayed" value={sum('delayed')} />
        <Stat label="Waiting for children" value={sum('waiting-children')} />
        <Stat label="Dead letters" value={sum('dead')} tone={sum('dead') > 0 ? 'bad' : 'ok'} />
      </div>
      <Card title="Throughput, last 5 minutes">
        <ThroughputChart queues={queues} />
      </Card>
      <Card title="Queues">
        {queues.length === 0 ? (
          <EmptyState title="No job types">Job types appear here when a capability registers a handler or a job is enqueued.</EmptyState>
        ) : (
          <DataTable
            testId="queues-table"
            rows={queues}
            rowKey={(q) => q.type}
            columns={[
              { header: 'Type', className: 'mono', cell: (q) => q.type },
              { header: 'Running / concurrency', className: 'right', cell: (q) => `${q.running} / ${q.concurrency}` },
              { header: 'Waiting', className: 'right', cell: (q) => q.counts.waiting },
              { header: 'Delayed', className: 'right', cell: (q) => q.counts.delayed },
              { header: 'Children', className: 'right', cell: (q) => q.counts['waiting-children'] },
              { header: 'Completed', className: 'right', cell: (q) => q.counts.completed },
              {
                header: 'Dead',
                className: 'right',
                cell: (q) => <span style={{ color: q.counts.dead > 0 ? 'var(--bad)' : undefined }}>{q.counts.dead}</span>,
              },
              { header: 'Cancelled', className: 'right', cell: (q) => q.counts.cancelled },
            ]}
          />
        )}
      </Card>
      {selected !== null && <JobDetail id={selected} onClose={() => setSelected(null)} />}
      <Card title="Jobs">
        <label className="checkbox">
          Show
          <select aria-label="State filter" value={filter} onChange={(e) => setFilter(e.target.value as StateFilter)}>
            {stateFilters.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
          <span className="muted">{list.data?.total ?? 0} jobs</span>
        </label>
        <DataTable
          testId="jobs-table"
          rows={list.data?.jobs}
          rowKey={(job) => job.id}
          rowTestId={(job) => `job-${job.id}`}
          columns={[
            {
              header: 'Id',
              className: 'mono',
              cell: (job) => (
                <button className="link mono" onClick={() => setSelected(job.id)}>
                  {job.id}
                </button>
              ),
            },
            { header: 'Type', className: 'mono', cell: (job) => job.type },
            {
              header: 'State',
              cell: (job) => (
                <>
                  <StateBadge state={job.state} />
                  {job.waitingFor !== null ? (
                    // A job placed on a node that is offline: say why it does not run.
                    <div className="small muted" data-testid="job-waiting-for">
                      {job.waitingFor}
                    </div>
                  ) : null}
                </>
              ),
            },
            {
              header: 'Progress',
              cell: (job) => {
                const l = job.state === 'active' ? live.get(job.id) : undefined;
                return (
                  <ProgressBar
                    label={`Progress of job ${job.id}`}
                    value={l?.progress ?? job.progress}
                    state={job.state}
                    message={l?.message ?? job.progressMessage}
                  />
                );
              },
            },
            { header: 'Attempts', className: 'right', cell: (job) => `${job.attemptsMade} / ${job.maxAttempts}` },
            { header: 'Created', cell: (job) => formatTime(job.createdAt) },
            { header: '', className: 'right', cell: (job) => actions(job) },
          ]}
        />
      </Card>
      <Card title="Dead letters">
        {(dead.data?.jobs.length ?? 0) === 0 ? (
          <div className="muted">No job has run out of attempts.</div>
        ) : (
          <table className="table" data-testid="dead-letters">
            <tbody>
              {dead.data?.jobs.map((job) => (
                <tr key={job.id}>
                  <td className="mono">{job.id}</td>
                  <td className="mono">{job.type}</td>
                  <td className="wrap-anywhere" style={{ color: 'var(--bad)' }}>
                    {job.lastError}
                  </td>
                  <td>{formatTime(job.finishedAt)}</td>
                  <td className="right">{actions(job)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
    </>
  );
}
