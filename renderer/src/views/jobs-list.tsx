/** The Jobs view's list: every job, paged by the server, with its filters, search and sort. */
import { useState, type ReactNode } from 'react';
import type { OperationInput } from '../../../contract/operations';
import { useClient } from '../client/client-context';
import { usePagedList, useSettled } from '../client/paged-list';
import { DataTable, PageFooter } from '../components/data-table';
import { KeyName } from '../components/key-name';
import { Card, ErrorBanner } from '../components/ui';
import { formatTime } from '../components/format';
import { ProgressBar, StateBadge, stateFilters, useThrottledReload, type Job, type StateFilter } from './jobs-parts';

const windows = { any: 0, 'last hour': 3600_000, 'last 24 hours': 86_400_000, 'last 7 days': 7 * 86_400_000 } as const;
type Window = keyof typeof windows;

export function JobsList({
  types,
  live,
  actions,
  onSelect,
}: {
  types: readonly string[];
  live: Map<string, { progress: number; message: string | null }>;
  actions: (job: Job, reload: () => void) => ReactNode;
  onSelect: (id: string) => void;
}) {
  const client = useClient();
  const [state, setState] = useState<StateFilter>('all');
  const [type, setType] = useState('');
  const [search, setSearch] = useState('');
  const [window, setWindow] = useState<Window>('any');
  // The window's start is fixed when it is chosen: a start that moved each render would refetch forever.
  const [since, setSince] = useState<string | null>(null);
  const [sort, setSort] = useState<'newest' | 'oldest'>('newest');
  const query = useSettled(search.trim());
  const input: OperationInput<'jobs.list'> = {
    ...(state === 'all' ? {} : { state }),
    ...(type === '' ? {} : { type }),
    ...(query === '' ? {} : { search: query }),
    ...(since === null ? {} : { createdAfter: since }),
    sort,
  };
  const list = usePagedList(async (cursor, limit) => {
    const page = await client.call('jobs.list', { ...input, limit, ...(cursor === undefined ? {} : { cursor }) });
    return { items: page.jobs, total: page.total, nextCursor: page.nextCursor };
  }, JSON.stringify(input));
  useThrottledReload(list.reload, ['jobs.changed']);

  return (
    <Card title="Jobs">
      <div className="inline-form" data-testid="job-filters">
        <label>
          State
          <select aria-label="State filter" value={state} onChange={(e) => setState(e.target.value as StateFilter)}>
            {stateFilters.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Type
          <select aria-label="Type filter" value={type} onChange={(e) => setType(e.target.value)}>
            <option value="">all</option>
            {types.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </label>
        <label>
          Created
          <select
            aria-label="Created within"
            value={window}
            onChange={(e) => {
              const w = e.target.value as Window;
              setWindow(w);
              setSince(windows[w] === 0 ? null : new Date(Date.now() - windows[w]).toISOString());
            }}
          >
            {(Object.keys(windows) as Window[]).map((w) => (
              <option key={w} value={w}>
                {w}
              </option>
            ))}
          </select>
        </label>
        <label>
          Order
          <select aria-label="Order" value={sort} onChange={(e) => setSort(e.target.value as 'newest' | 'oldest')}>
            <option value="newest">newest first</option>
            <option value="oldest">oldest first</option>
          </select>
        </label>
        <label>
          Search
          <input
            type="search"
            aria-label="Search jobs"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
            placeholder="id, idempotency key or type"
            maxLength={200}
          />
        </label>
      </div>
      <ErrorBanner error={list.error} />
      <DataTable
        testId="jobs-table"
        rows={list.rows}
        rowKey={(job) => job.id}
        rowTestId={(job) => `job-${job.id}`}
        windowed={{ label: 'Jobs list', height: 640, rowHeight: 58 }}
        columns={[
          {
            header: 'Id',
            className: 'mono',
            cell: (job) => (
              <button className="link mono" onClick={() => onSelect(job.id)}>
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
          {
            header: 'Created',
            cell: (job) => (
              <>
                {formatTime(job.createdAt)}
                {job.createdBy !== null && (
                  <div className="small muted" data-testid="job-created-by">
                    by <KeyName id={job.createdBy} />
                  </div>
                )}
              </>
            ),
          },
          { header: 'Actions', className: 'right', cell: (job) => actions(job, list.reload) },
        ]}
      />
      <PageFooter
        testId="jobs-count"
        shown={list.rows?.length ?? 0}
        total={list.total}
        noun="jobs"
        hasMore={list.hasMore}
        loading={list.loading}
        onMore={list.loadMore}
      />
    </Card>
  );
}
