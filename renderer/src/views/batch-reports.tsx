/** Recent batches with their reports: counts per outcome, and for a batch that failed, each failed operation and its error. */
import { useEffect, useState } from 'react';
import type { OperationResult } from '../../../contract/operations';
import { useClient, useOperation } from '../client/client-context';
import { ClientError } from '../client/client';
import { DataTable } from '../components/data-table';
import { Card, ErrorBanner, StatusBadge } from '../components/ui';
import { formatTime } from '../components/format';
import { useThrottledReload } from './jobs-parts';

type Report = OperationResult<'batch.reports'>['reports'][number];

const SHOWN = 20;

export function BatchReports() {
  const client = useClient();
  const list = useOperation('batch.list', { limit: SHOWN });
  useThrottledReload(list.reload, ['jobs.changed'], 2000);
  const [reports, setReports] = useState<ReadonlyMap<string, Report>>(new Map());
  const [reportError, setReportError] = useState<ClientError | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const batches = list.data?.batches;
  const ids = (batches ?? []).map((b) => b.batchId);
  const idsKey = ids.join(',');

  useEffect(() => {
    if (ids.length === 0) return undefined;
    let cancelled = false;
    client.call('batch.reports', { ids }).then(
      (r) => {
        if (cancelled) return;
        setReportError(null);
        setReports(new Map(r.reports.map((rep) => [rep.batchId, rep])));
      },
      (err: unknown) => !cancelled && setReportError(err instanceof ClientError ? err : new ClientError('PH_INTERNAL', String(err))),
    );
    return () => {
      cancelled = true;
    };
  }, [client, idsKey]); // eslint-disable-line react-hooks/exhaustive-deps

  const shown = selected === null ? undefined : reports.get(selected);
  // `errors` holds every failed operation of either mode (an atomic batch's operations roll back together).
  const failedOps = shown?.errors ?? [];

  return (
    <Card title="Batches">
      <ErrorBanner error={list.error ?? reportError} />
      {batches !== undefined && batches.length === 0 ? (
        <div className="muted">No batch has been applied yet.</div>
      ) : (
        <DataTable
          testId="batch-reports"
          rows={batches}
          rowKey={(b) => b.batchId}
          rowTestId={(b) => `batch-${b.batchId}`}
          rowClassName={(b) => (b.batchId === selected ? 'selected' : undefined)}
          columns={[
            { header: 'Batch', className: 'mono', cell: (b) => b.batchId.slice(-12), title: (b) => b.batchId },
            { header: 'Mode', cell: (b) => b.mode },
            { header: 'Status', cell: (b) => <StatusBadge state={b.status} /> },
            {
              header: 'Operations',
              cell: (b) => {
                const c = reports.get(b.batchId)?.counts;
                return c === undefined ? '—' : `${c.succeeded} ok · ${c.failed} failed · ${c.skipped} skipped · ${c.pending} pending`;
              },
            },
            { header: 'Started', cell: (b) => formatTime(b.createdAt) },
            {
              header: 'Failures',
              className: 'right',
              cell: (b) =>
                (reports.get(b.batchId)?.errors.length ?? 0) > 0 ? (
                  <button className="link" onClick={() => setSelected(b.batchId === selected ? null : b.batchId)}>
                    {b.batchId === selected ? 'Hide' : 'Show'} failed operations
                  </button>
                ) : null,
            },
          ]}
        />
      )}
      {shown !== undefined && (
        <div data-testid="batch-failures" style={{ marginTop: 10 }}>
          <h3 style={{ margin: '0 0 6px' }}>
            Failed operations of batch <span className="mono">{shown.batchId}</span>
            {shown.node !== undefined && <span className="muted small"> · on {shown.node}</span>}
          </h3>
          <DataTable
            testId="batch-failed-ops"
            rows={failedOps}
            rowKey={(op) => op.index}
            columns={[
              { header: 'Operation', className: 'right', cell: (op) => `#${op.index}` },
              { header: 'Code', className: 'mono', cell: (op) => op.code },
              { header: 'Error', className: 'wrap-anywhere', cell: (op) => op.message },
            ]}
          />
        </div>
      )}
    </Card>
  );
}
