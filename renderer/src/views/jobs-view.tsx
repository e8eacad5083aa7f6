import { useMemo, useState } from 'react';
import { useAction, useClient, useOperation, useSession } from '../client/client-context';
import { usePagedList } from '../client/paged-list';
import { useConfirm } from '../components/confirm-dialog';
import { DataTable, PageFooter } from '../components/data-table';
import { Card, EmptyState, ErrorBanner, isRateLimited, PageHeader, SourceDown, Stat } from '../components/ui';
import { formatTime } from '../components/format';
import { BatchReports } from './batch-reports';
import { JobDetail } from './job-detail';
import { AddJobDialog, RetryAllDead } from './job-forms';
import { JobsList } from './jobs-list';
import { useLiveProgress, useThrottledReload, type Job, type Queue } from './jobs-parts';

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
  const promote = useAction('jobs.promote');
  const { confirm, dialog } = useConfirm();
  const [adding, setAdding] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
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
  const deadTypes = queues.filter((q) => q.counts.dead > 0).map((q) => q.type);
  const sum = (key: keyof Queue['counts']) => queues.reduce((s, q) => s + q.counts[key], 0);
  const act = (what: 'cancel' | 'retry' | 'delete' | 'promote', job: Job, reloadList?: () => void) => {
    const request = {
      cancel: {
        title: `Cancel job ${job.id} (${job.type})?`,
        body: job.state === 'active' ? 'Its handler is told to stop at once.' : undefined,
        label: 'Cancel job',
        danger: true,
      },
      retry: { title: `Run job ${job.id} (${job.type}) again?`, body: 'Its attempts are reset.', label: 'Retry', danger: false },
      delete: { title: `Delete job ${job.id} (${job.type})?`, body: 'This cannot be undone.', label: 'Delete', danger: true },
      promote: {
        title: `Run job ${job.id} (${job.type}) now?`,
        body: `It was to run at ${formatTime(job.runAt)}.`,
        label: 'Run now',
        danger: false,
      },
    }[what];
    confirm({
      title: request.title,
      body: request.body === undefined ? undefined : <p>{request.body}</p>,
      confirmLabel: request.label,
      danger: request.danger,
      onConfirm: async () => {
        const action = { cancel, retry, delete: remove, promote }[what];
        await action.run({ id: job.id });
        reloadAll();
        reloadList?.();
      },
    });
  };
  const unended = (job: Job) => ['waiting', 'delayed', 'active', 'waiting-children'].includes(job.state);
  // Pilothouse's own job types (not among those jobs.enqueue takes): the server refuses to cancel or
  // delete one that has not ended, so neither is offered.
  const ownUnended = (job: Job) => stats.data !== undefined && !stats.data.enqueueable.includes(job.type) && unended(job);
  const actions = (job: Job, reloadList?: () => void) =>
    canAct && (
      <div className="row-actions">
        {job.state === 'delayed' && <button onClick={() => act('promote', job, reloadList)}>Promote</button>}
        {unended(job) && !ownUnended(job) && (
          <button className="danger" onClick={() => act('cancel', job, reloadList)}>
            Cancel
          </button>
        )}
        {(job.state === 'dead' || job.state === 'cancelled') && <button onClick={() => act('retry', job, reloadList)}>Retry</button>}
        {job.state !== 'active' && !ownUnended(job) && (
          <button className="link" onClick={() => act('delete', job, reloadList)}>
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
        actions={
          canAct && (stats.data?.enqueueable.length ?? 0) > 0 ? (
            <button className="primary" onClick={() => setAdding(true)}>
              Add job…
            </button>
          ) : undefined
        }
      />
      {dialog}
      {adding && (
        <AddJobDialog
          types={stats.data?.enqueueable ?? []}
          onClose={(added) => {
            setAdding(false);
            if (added !== undefined) {
              setNotice(`Added job ${added}.`);
              setSelected(added);
            }
          }}
        />
      )}
      <ErrorBanner
        error={stats.error ?? dead.error ?? cancel.error ?? retry.error ?? remove.error ?? promote.error}
        onDismiss={() => (cancel.clearError(), retry.clearError(), remove.clearError(), promote.clearError())}
      />
      {notice !== null && (
        <div className="notice" role="status" data-testid="jobs-notice">
          {notice}{' '}
          <button className="link" onClick={() => setNotice(null)}>
            OK
          </button>
        </div>
      )}
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
          <div className="muted">
            {isRateLimited(stats.error)
              ? 'No throughput to show yet: rate limited.'
              : `No throughput to show: the job queue did not answer (${stats.error.code}).`}
          </div>
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
        {canAct && (
          <RetryAllDead
            types={deadTypes}
            confirm={confirm}
            onDone={(text) => {
              setNotice(text);
              reloadAll();
            }}
          />
        )}
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
      <BatchReports />
    </>
  );
}
