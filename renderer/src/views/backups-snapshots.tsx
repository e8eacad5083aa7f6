/** Every snapshot, newest first, paged by the server (offset and limit, with the true total). */
import type { ReactNode } from 'react';
import type { OperationResult } from '../../../contract/operations';
import { useClient } from '../client/client-context';
import { usePagedList } from '../client/paged-list';
import { DataTable, PageFooter } from '../components/data-table';
import { Card, EmptyState, ErrorBanner, StatusBadge } from '../components/ui';
import { countOf, formatBytes, formatTime } from '../components/format';
import { useThrottledReload } from './jobs-parts';

type Snapshot = OperationResult<'backup.snapshots.list'>['snapshots'][number];

export function SnapshotsCard({ actions }: { actions: (snapshot: Snapshot) => ReactNode }) {
  const client = useClient();
  const list = usePagedList(async (cursor, limit) => {
    const offset = cursor === undefined ? 0 : Number(cursor);
    const page = await client.call('backup.snapshots.list', { limit, offset });
    const next = offset + page.snapshots.length;
    return { items: page.snapshots, total: page.total, nextCursor: next < page.total ? String(next) : null };
  }, 'all');
  useThrottledReload(list.reload, ['backup.finished']);
  return (
    <Card title="Snapshots" wide>
      <ErrorBanner error={list.error} />
      {list.total === 0 ? (
        <EmptyState title="No snapshots yet">Take one with “Snapshot now”, or wait for a source’s schedule.</EmptyState>
      ) : (
        <>
          <DataTable
            testId="backup-snapshots"
            rows={list.rows}
            rowKey={(s) => s.id}
            windowed={{ label: 'Snapshots list', height: 640, rowHeight: 44 }}
            columns={[
              { header: 'Taken', title: (s) => s.id, cell: (s) => formatTime(s.capturedAt) },
              { header: 'Source', cell: (s) => s.sourceName },
              { header: 'Trigger', cell: (s) => s.trigger },
              { header: 'Size', className: 'right', cell: (s) => formatBytes(s.logicalBytes) },
              {
                header: 'Added',
                className: 'right',
                cell: (s) => (
                  <>
                    {formatBytes(s.addedBytes)} <span className="muted small">({countOf(s.addedPages, 'page')})</span>
                  </>
                ),
              },
              {
                header: 'Verified',
                cell: (s) =>
                  s.lastVerification === null ? (
                    <span className="muted">not yet</span>
                  ) : (
                    <StatusBadge state={s.lastVerification.ok ? 'passing' : 'failed'} />
                  ),
              },
              { header: 'Actions', className: 'right actions', cell: actions },
            ]}
          />
          <PageFooter
            testId="backup-snapshots-count"
            shown={list.rows?.length ?? 0}
            total={list.total}
            noun="snapshots"
            hasMore={list.hasMore}
            loading={list.loading}
            onMore={list.loadMore}
          />
        </>
      )}
    </Card>
  );
}
