import type { OperationResult } from '../../../contract/operations';
import { KeyName } from '../components/key-name';
import { Card, StatusBadge } from '../components/ui';
import { formatBytes, formatTime } from '../components/format';
import { mergeBackupHistory } from './backup-history';

/** Restores, prunes and cancelled snapshots in one timeline, newest first; sources by name where known. */
export function HistoryCard({
  history,
  limit,
  sourceName,
}: {
  history: OperationResult<'backup.history'> | undefined;
  limit: number;
  sourceName: (id: string) => string;
}) {
  return (
    <Card title="Restores, prunes and cancelled snapshots">
      <table className="table" data-testid="backup-history">
        <tbody>
          {history !== undefined &&
            mergeBackupHistory(history, limit).map((entry) => {
              if (entry.kind === 'restore') {
                const r = entry.restore;
                return (
                  <tr key={`r${r.id}`}>
                    <td>{formatTime(r.at)}</td>
                    <td>restore {r.inPlace ? 'in place' : 'to new file'}</td>
                    <td className="mono small">{r.target}</td>
                    <td>
                      <StatusBadge state={r.ok ? 'ok' : 'failed'} /> {r.error !== null && <span className="small muted">{r.error}</span>}
                    </td>
                  </tr>
                );
              }
              if (entry.kind === 'cancel') {
                const c = entry.cancel;
                return (
                  <tr key={`c${c.id}`} data-testid="backup-cancelled">
                    <td>{formatTime(c.at)}</td>
                    <td>snapshot cancelled</td>
                    <td title={c.sourceId}>{sourceName(c.sourceId)}</td>
                    <td>
                      <StatusBadge state="cancelled" />{' '}
                      <span className="small muted">
                        by <KeyName id={c.by} /> at {c.phase} {c.done.toLocaleString()} of {c.total.toLocaleString()}
                      </span>
                    </td>
                  </tr>
                );
              }
              const p = entry.prune;
              return (
                <tr key={`p${p.id}`}>
                  <td>{formatTime(p.at)}</td>
                  <td>prune</td>
                  <td>
                    {p.removedSnapshots} snapshots, {p.removedPages} pages
                  </td>
                  <td>{formatBytes(p.freedBytes)} freed</td>
                </tr>
              );
            })}
        </tbody>
      </table>
    </Card>
  );
}
