import { useOperation } from '../client/client-context';
import { DataTable } from '../components/data-table';
import { Card, ErrorBanner } from '../components/ui';
import { formatTime } from '../components/format';

/**
 * Read-only: how long this node keeps each history (config `retention`, docs/retention.md), what is
 * capped as it is written, when the maintenance job runs and what its last run here cut.
 */
export function RetentionCard() {
  const config = useOperation('system.config', {});
  const retention = config.data?.retention;
  const last = retention?.lastRun ?? null;
  return (
    <Card title="Retention">
      <ErrorBanner error={config.error} />
      {retention !== undefined && (
        <p className="muted small" data-testid="retention-schedule">
          The maintenance job runs at <span className="mono">{retention.schedule}</span> (cron) on this node, cuts what is past retention
          and hands the freed pages back to the file system.{' '}
          {last === null
            ? 'It has not run since this node started.'
            : `Last run ${formatTime(last.at)}: ${last.cuts.reduce((n, c) => n + c.removed, 0)} rows cut, database ${last.bytesBefore} → ${last.bytesAfter} bytes.`}
        </p>
      )}
      <DataTable
        testId="retention-cuts"
        rows={retention === undefined ? undefined : [...retention.cuts, ...retention.capped.map((c) => ({ ...c, tables: [] as string[] }))]}
        rowKey={(c) => c.name}
        columns={[
          { header: 'History', cell: (c) => c.name },
          { header: 'Kept', cell: (c) => c.keeps },
          { header: 'How', cell: (c) => (c.tables.length > 0 ? 'cut daily' : 'capped as written') },
          { header: 'Tables', className: 'mono small', cell: (c) => c.tables.join(', ') },
        ]}
      />
    </Card>
  );
}
