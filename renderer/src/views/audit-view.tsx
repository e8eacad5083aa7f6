import { useEffect, useState } from 'react';
import { roleAllows } from '../../../contract/roles';
import { useOperation, useSession } from '../client/client-context';
import { useSettled } from '../client/paged-list';
import { DataTable } from '../components/data-table';
import { KeyName, useActorByKeyName } from '../components/key-name';
import { Card, EmptyState, ErrorBanner, PageHeader, StatusBadge } from '../components/ui';
import { countOf, formatTime } from '../components/format';
import { describeAuditDetail } from './audit-detail';
import { RetentionCard } from './retention-card';

const PAGE_SIZE = 25;

/** The audit log needs an operator (docs/security.md): a viewer is told so and nothing is called. */
export function AuditView() {
  const { role } = useSession();
  if (!roleAllows(role, 'operator'))
    return (
      <>
        <PageHeader title="Audit" />
        <EmptyState title="Operators and admins only">The audit log needs an operator key.</EmptyState>
      </>
    );
  return <AuditLog />;
}

/** The fleet's one trail (on a single machine, this node's rows, paged the same way), newest first. */
function AuditLog() {
  const [cursors, setCursors] = useState<string[]>([]);
  const [filters, setFilters] = useState({ actor: '', action: '', target: '' });
  const { role } = useSession();
  const typed = {
    actor: useSettled(filters.actor.trim()),
    action: useSettled(filters.action.trim()),
    target: useSettled(filters.target.trim()),
  };
  // Who: a key's name as well as the actor itself (key:<id>, system), since the table shows names.
  const actorByName = useActorByKeyName();
  const actor = typed.actor === '' ? undefined : actorByName(typed.actor);
  const settled = { ...typed, actor: actor ?? typed.actor };
  const filterKey = JSON.stringify(settled);
  // A new filter starts again from the newest row.
  useEffect(() => setCursors([]), [filterKey]);
  const cursor = cursors.at(-1);
  const input = {
    fleet: true,
    limit: PAGE_SIZE,
    ...(cursor === undefined ? {} : { cursor }),
    ...Object.fromEntries(Object.entries(settled).filter(([, v]) => v !== '')),
  };
  const page = useOperation('audit.list', input, {
    refreshOn: cursor === undefined ? ['audit.appended'] : [],
  });
  const entries = page.data?.entries ?? [];
  const nextCursor = page.data?.nextCursor ?? null;
  // Rows carry their node in a fleet: each node numbers its own chain.
  const inFleet = entries.some((entry) => entry.node !== undefined);
  const pageNumber = cursors.length + 1;
  const pages = Math.max(1, Math.ceil((page.data?.total ?? 0) / PAGE_SIZE));

  return (
    <>
      <PageHeader title="Audit" subtitle="Every change made through Pilothouse, append-only and hash-chained." />
      <ErrorBanner error={page.error} />
      {page.data !== undefined && (
        <div className={page.data.chainIntact ? 'notice ok' : 'notice bad'} data-testid="chain-state">
          {page.data.chainIntact
            ? filterKey === JSON.stringify({ actor: '', action: '', target: '' })
              ? `Hash chain intact across ${page.data.total === 1 ? 'its one entry' : `all ${countOf(page.data.total, 'entry', 'entries')}`}.`
              : 'Hash chain intact.'
            : 'The hash chain is broken: the log was edited outside Pilothouse.'}
        </div>
      )}
      <Card>
        <div className="inline-form" data-testid="audit-filters">
          {(['actor', 'action', 'target'] as const).map((field) => (
            <label key={field}>
              {{ actor: 'Who', action: 'Action', target: 'Target contains' }[field]}
              <input
                type="search"
                aria-label={`Audit ${field}`}
                value={filters[field]}
                onChange={(e) => setFilters((f) => ({ ...f, [field]: e.target.value }))}
                placeholder={
                  {
                    actor: role === 'admin' ? 'a key’s name, key:<id> or system' : 'key:<id> or system',
                    action: 'e.g. cache or keys.create',
                    target: 'e.g. orders',
                  }[field]
                }
                maxLength={200}
              />
            </label>
          ))}
          {actor !== undefined && (
            <span className="muted small" data-testid="audit-actor">
              = {actor}
            </span>
          )}
          <span className="muted" role="status" data-testid="audit-count">
            {page.data === undefined
              ? ''
              : `${page.data.total.toLocaleString('en')} matching ${page.data.total === 1 ? 'entry' : 'entries'}`}
          </span>
        </div>
        {page.data !== undefined && entries.length === 0 && filterKey !== JSON.stringify({ actor: '', action: '', target: '' }) ? (
          <p className="muted" data-testid="audit-none">
            No entry matches these filters. Clear Who, Action or Target to see the whole trail.
          </p>
        ) : (
          <DataTable
            testId="audit-table"
            rows={entries}
            rowKey={(entry) => `${entry.node ?? ''}:${entry.seq}`}
            columns={[
              ...(inFleet ? [{ header: 'Node', className: 'mono', cell: (entry: (typeof entries)[number]) => entry.node ?? '' }] : []),
              { header: '#', className: 'mono', cell: (entry) => entry.seq },
              { header: 'When', cell: (entry) => formatTime(entry.at) },
              { header: 'Who', cell: (entry) => <KeyName id={entry.actor} /> },
              { header: 'Action', className: 'mono', cell: (entry) => entry.action },
              { header: 'Target', className: 'mono', cell: (entry) => entry.target ?? '' },
              {
                header: 'Outcome',
                cell: (entry) => (
                  <>
                    <StatusBadge state={entry.outcome} />
                    {entry.detail !== null && (
                      <span className="muted small" title={entry.detail}>
                        {' '}
                        {describeAuditDetail(entry.detail)}
                      </span>
                    )}
                  </>
                ),
              },
            ]}
          />
        )}
        <div className="pager">
          <button disabled={cursors.length === 0} onClick={() => setCursors((c) => c.slice(0, -1))}>
            ← Newer
          </button>
          <span className="muted">
            Page {pageNumber} of {pages}
          </span>
          <button disabled={nextCursor === null} onClick={() => nextCursor !== null && setCursors((c) => [...c, nextCursor])}>
            Older →
          </button>
        </div>
      </Card>
      <RetentionCard />
    </>
  );
}
