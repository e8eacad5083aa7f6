import { useMemo, useState } from 'react';
import { useAction, useClient, useOperation, useSession } from '../client/client-context';
import { usePagedList } from '../client/paged-list';
import { DataTable, PageFooter } from '../components/data-table';
import { Card, EmptyState, ErrorBanner, PageHeader, SourceDown, Stat, formatTime } from '../components/ui';
import { JobsList } from './jobs-list';
import { StateBadge, useLiveProgress, useThrottledReload, type Job, type Queue } from './jobs-parts';

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
  const [selected, setSelected] = useState<string | null>(null);
  const client = useClient();
  const stats = useOperation('jobs.stats', {}, { intervalMs: 5_000 });
  const dead = usePagedList(
    async (cursor, limit) => {
      const page = await client.call('jobs.list', { state: 'dead', limit, ...(cursor === undefined ? {} : { cursor }) });
      return { items: page.jobs, total: page.total, nextCursor: page.nextCursor };
    },
    'dead',
    20,
  );
  const cancel = useAction('jobs.cancel');
  const retry = useAction('jobs.retry');
  const remove = useAction('jobs.delete');
  const live = useLiveProgress();
  const reloadAll = useMemo(
    () => () => {
      stats.reload();
      dead.reload();
    },
    [stats.reload, dead.reload], // eslint-disable-line react-hooks/exhaustive-deps
  );
  useThrottledReload(reloadAll, ['jobs.changed']);

  const queues = stats.data?.queues ?? [];
  // Types with a handler here, and types that only have jobs (enqueued by another node or program).
  const jobTypes = [...new Set([...(stats.data?.types ?? []), ...queues.map((q) => q.type)])].sort();
  const sum = (key: keyof Queue['counts']) => queues.reduce((s, q) => s + q.counts[key], 0);
  const act = async (what: 'cancel' | 'retry' | 'delete', job: Job, reloadList?: () => void) => {
    const question = {
      cancel: `Cancel job ${job.id} (${job.type})?${job.state === 'active' ? ' Its handler is told to stop at once.' : ''}`,
      retry: `Run job ${job.id} (${job.type}) again, with its attempts reset?`,
      delete: `Delete job ${job.id} (${job.type})? This cannot be undone.`,
    }[what];
    if (!window.confirm(question)) return;
    const action = { cancel, retry, delete: remove }[what];
    await action.run({ id: job.id });
    reloadAll();
    reloadList?.();
  };
  const actions = (job: Job, reloadList?: () => void) =>
    canAct && (
      <div style={{ display: 'flex', gap: 6, justifyContent: 'flex-end' }}>
        {['waiting', 'delayed', 'active', 'waiting-children'].includes(job.state) && (
          <button className="danger" onClick={() => void act('cancel', job, reloadList)}>
            Cancel
          </button>
        )}
        {(job.state === 'dead' || job.state === 'cancelled') && <button onClick={() => void act('retry', job, reloadList)}>Retry</button>}
        {job.state !== 'active' && (
          <button className="link" onClick={() => void act('delete', job, reloadList)}>
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
        error={stats.error ?? dead.error ?? cancel.error ?? retry.error ?? remove.error}
        onDismiss={() => (cancel.clearError(), retry.clearError(), remove.clearError())}
      />
      <div className="stats" data-testid="job-counts">
        {stats.data === undefined ? (
          // No numbers until the queue answers: a zero here would read as "nothing dead" while the queue is down.
          <Stat label="Job counts" value="—" />
        ) : (
          <>
            <Stat label="Running" value={sum('active')} tone={sum('active') > 0 ? 'ok' : undefined} />
            <Stat label="Waiting" value={sum('waiting')} />
            <Stat label="Delayed" value={sum('delayed')} />
            <Stat label="Waiting for children" value={sum('waiting-children')} />
            <Stat label="Dead letters" value={sum('dead')} tone={sum('dead') > 0 ? 'bad' : 'ok'} />
          </>
        )}
      </div>
      <Card title="Throughput, last 5 minutes">
        {stats.error !== null ? (
          <div className="muted">No throughput to show: the job queue did not answer ({stats.error.code}).</div>
        ) : (
          <ThroughputChart queues={queues} />
        )}
      </Card>
      <Card title="Queues">
        {stats.error !== null ? (
          <SourceDown what="The job queue" error={stats.error} testId="queues-down" />
        ) : stats.data === undefined ? (
          <div className="muted">Loading…</div>
        ) : queues.length === 0 ? (
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
      <JobsList types={jobTypes} live={live} actions={actions} onSelect={setSelected} />
      <Card title="Dead letters">
        {dead.error !== null && dead.rows === undefined ? (
          <SourceDown what="The dead-letter list" error={dead.error} testId="dead-down" />
        ) : dead.rows === undefined ? (
          <div className="muted">Loading…</div>
        ) : dead.rows.length === 0 ? (
          <div className="muted">No job has run out of attempts.</div>
        ) : (
          <>
            <DataTable
              testId="dead-letters"
              rows={dead.rows}
              rowKey={(job) => job.id}
              windowed={{ label: 'Dead letters', height: 480, rowHeight: 44 }}
              columns={[
                { header: 'Id', className: 'mono', cell: (job) => job.id },
                { header: 'Type', className: 'mono', cell: (job) => job.type },
                {
                  header: 'Last error',
                  className: 'wrap-anywhere',
                  cell: (job) => <span style={{ color: 'var(--bad)' }}>{job.lastError}</span>,
                },
                { header: 'Finished', cell: (job) => formatTime(job.finishedAt) },
                { header: 'Actions', className: 'right', cell: (job) => actions(job) },
              ]}
            />
            <PageFooter
              testId="dead-count"
              shown={dead.rows?.length ?? 0}
              total={dead.total}
              noun="dead letters"
              hasMore={dead.hasMore}
              loading={dead.loading}
              onMore={dead.loadMore}
            />
          </>
        )}
      </Card>
    </>
  );
}
