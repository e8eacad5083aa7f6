import { useEffect, useState } from 'react';
import type { EventPayload } from '../../../contract/events';
import type { OperationResult } from '../../../contract/operations';
import { roleAllows } from '../../../contract/roles';
import { useAction, useEvent, useOperation, useSession } from '../client/client-context';
import { useConfirm } from '../components/confirm-dialog';
import { DataTable } from '../components/data-table';
import { useKeyName } from '../components/key-name';
import { Card, ErrorBanner, PageHeader, Stat, StatusBadge } from '../components/ui';
import { formatBytes, formatTime } from '../components/format';
import { ReplicasCard } from './backups-replicas';
import { PickBackupRoot } from './backups-roots';
import { PointInTime, RestoreDialog, type RestoreInput } from './backups-restore';
import { SnapshotsCard } from './backups-snapshots';
import { SourceDialog } from './backups-sources';
import { HistoryCard } from './backups-history';
import { StoredChart } from './backups-stored-chart';

type Progress = EventPayload<'backup.progress'>;
type Source = OperationResult<'backup.sources.list'>['sources'][number];

const REFRESH = ['backup.finished'] as const;
const HISTORY_ROWS = 10;

export function BackupsView() {
  const { role } = useSession();
  const canOperate = roleAllows(role, 'operator');
  const isAdmin = role === 'admin';
  const sources = useOperation('backup.sources.list', {}, { refreshOn: REFRESH });
  // The repository's own state (a lost pack or manifest makes it degraded): said here, not only on the Overview.
  const status = useOperation('system.status', {}, { refreshOn: REFRESH, intervalMs: 15_000 });
  const service = status.data?.services.find((s) => s.name === 'backup');
  // The chart's share: the newest 60 (the table below pages through them all).
  const snapshots = useOperation('backup.snapshots.list', { limit: 60 }, { refreshOn: REFRESH });
  const verifications = useOperation('backup.verifications.list', { limit: 20 }, { refreshOn: REFRESH });
  const history = useOperation('backup.history', { limit: HISTORY_ROWS }, { refreshOn: REFRESH });
  const snap = useAction('backup.snapshot');
  const verify = useAction('backup.verify');
  const prune = useAction('backup.prune');
  const removeSource = useAction('backup.sources.remove');
  const cancel = useAction('backup.snapshot.cancel');
  const [editing, setEditing] = useState<Source | 'new' | null>(null);
  const { dialog, confirm } = useConfirm();
  const [jobs, setJobs] = useState<Record<string, Progress>>({});
  const [restoreFor, setRestoreFor] = useState<RestoreInput | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  useEffect(() => {
    const running = sources.data?.running;
    if (running === undefined) return;
    setJobs(Object.fromEntries(running.map((p) => [p.jobId, p])));
  }, [sources.data]);
  useEvent('backup.progress', (p) => setJobs((j) => ({ ...j, [p.jobId]: p })));
  useEvent('backup.finished', (f) =>
    setJobs((j) => {
      const { [f.jobId]: _done, ...rest } = j;
      return rest;
    }),
  );

  const keyName = useKeyName();
  const sourceName = (id: string) => sources.data?.sources.find((s) => s.id === id)?.name ?? id;
  // An operator's cancel ends "Snapshot now" with PH_BACKUP_CANCELLED: news, not a failure.
  const snapCancelled = snap.error?.code === 'PH_BACKUP_CANCELLED' ? snap.error : null;
  const repo = sources.data?.repository;
  const logical = sources.data?.sources.reduce((s, x) => s + x.logicalBytes, 0) ?? 0;
  const lastVerifyBad = verifications.data?.verifications.filter((v) => !v.ok).length ?? 0;

  return (
    <>
      <PageHeader
        title="Backups"
        subtitle="Page-level snapshots of SQLite databases: each snapshot is complete, and costs only the pages that changed."
        actions={
          canOperate && (
            <>
              {isAdmin && (
                <button className="primary" onClick={() => setEditing('new')}>
                  Add a source
                </button>
              )}
              <button
                disabled={prune.pending}
                onClick={() =>
                  void prune
                    .run({})
                    .then((r) => r && setNotice(`Pruned ${r.prune.removedSnapshots} snapshots, freed ${formatBytes(r.prune.freedBytes)}`))
                }
              >
                {prune.pending ? 'Pruning…' : 'Prune now'}
              </button>
            </>
          )
        }
      />
      {service?.state === 'degraded' && (
        <div className="notice bad" role="alert" data-testid="backup-degraded">
          The backup repository needs attention: {service.detail ?? 'the backup service is degraded'}
        </div>
      )}
      {dialog}
      {editing !== null && (
        <SourceDialog
          source={editing === 'new' ? null : editing}
          onClose={() => setEditing(null)}
          onDone={() => {
            setEditing(null);
            sources.reload();
          }}
        />
      )}
      <ErrorBanner
        error={
          sources.error ??
          snapshots.error ??
          (snapCancelled === null ? snap.error : null) ??
          verify.error ??
          prune.error ??
          removeSource.error ??
          cancel.error
        }
        onDismiss={() => (snap.clearError(), verify.clearError(), prune.clearError(), removeSource.clearError(), cancel.clearError())}
      />
      {notice !== null && (
        <div className="notice ok" role="status">
          {notice}{' '}
          <button className="link" onClick={() => (setNotice(null), snapCancelled !== null && snap.clearError())}>
            dismiss
          </button>
        </div>
      )}
      {notice === null && snapCancelled !== null && (
        <div className="notice" role="status" data-testid="snapshot-cancelled">
          {snapCancelled.message.replace(/key:[0-9a-f]+/g, keyName)}{' '}
          <button className="link" onClick={snap.clearError}>
            dismiss
          </button>
        </div>
      )}
      {repo !== undefined && (
        <div className="stats">
          <Stat label="Snapshots" value={repo.snapshots} />
          <Stat label="Stored in repository" value={formatBytes(repo.storedBytes)} />
          <Stat label="Distinct pages" value={repo.pages.toLocaleString()} />
          <Stat label="Dedup ratio" value={repo.storedBytes > 0 ? `${(logical / repo.storedBytes).toFixed(1)}×` : '—'} tone="ok" />
          <Stat label="Failed verifications (recent)" value={lastVerifyBad} tone={lastVerifyBad > 0 ? 'bad' : 'ok'} />
        </div>
      )}

      {Object.values(jobs).length > 0 && (
        <Card title="Running">
          <div data-testid="backup-jobs">
            {Object.values(jobs).map((j) => {
              const name = j.sourceId === null ? '' : sourceName(j.sourceId);
              const sourceId = j.sourceId;
              return (
                <ProgressRow
                  key={j.jobId}
                  job={j}
                  sourceName={name}
                  onCancel={
                    canOperate && j.kind === 'snapshot' && sourceId !== null
                      ? () =>
                          confirm({
                            title: 'Cancel the snapshot?',
                            body: `The snapshot of ${name} stops at the next chunk and leaves no snapshot behind.`,
                            confirmLabel: 'Cancel snapshot',
                            danger: true,
                            onConfirm: () =>
                              cancel.run({ sourceId }).then((r) => {
                                if (r !== undefined)
                                  setNotice(
                                    `You cancelled the snapshot of ${name} (${r.cancel.phase}, ${r.cancel.done} of ${r.cancel.total}).`,
                                  );
                                history.reload();
                              }),
                          })
                      : undefined
                  }
                />
              );
            })}
          </div>
        </Card>
      )}

      <Card title="Sources">
        <PickBackupRoot />
        <DataTable
          testId="backup-sources"
          rows={sources.data?.sources}
          rowKey={(s) => s.id}
          columns={[
            {
              header: 'Name',
              cell: (s) => (
                <>
                  <div>{s.name}</div>
                  <div className="muted small mono">{s.path}</div>
                </>
              ),
            },
            {
              header: 'Schedule',
              className: 'mono',
              cell: (s) =>
                `${s.schedule ?? (s.continuousSeconds !== null ? '' : 'manual')}${s.continuousSeconds !== null ? ` every ${s.continuousSeconds}s` : ''}`,
            },
            { header: 'Next run', cell: (s) => formatTime(s.nextRunAt) },
            {
              header: 'Last result',
              cell: (s) =>
                s.lastError !== null ? (
                  <span title={s.lastError}>
                    <StatusBadge state="failed" /> <span className="small muted">{s.lastError.slice(0, 60)}</span>
                  </span>
                ) : s.lastSuccessAt !== null ? (
                  <span>
                    <StatusBadge state="ok" /> <span className="small muted">{formatTime(s.lastSuccessAt)}</span>
                  </span>
                ) : (
                  <span className="muted">never run</span>
                ),
            },
            { header: 'Snapshots', className: 'right', cell: (s) => s.snapshots },
            { header: 'Stored', className: 'right', cell: (s) => formatBytes(s.storedBytes) },
            { header: 'Dedup', className: 'right', cell: (s) => (s.dedupRatio === null ? '—' : `${s.dedupRatio.toFixed(1)}×`) },
            {
              header: '',
              className: 'right',
              cell: (s) =>
                canOperate && (
                  <span className="actions">
                    <button disabled={snap.pending} onClick={() => void snap.run({ id: s.id })}>
                      Snapshot now
                    </button>
                    {isAdmin && <button onClick={() => setEditing(s)}>Edit</button>}
                    {isAdmin && s.kind !== 'app' && (
                      <button
                        className="danger"
                        onClick={() =>
                          confirm({
                            title: 'Remove the source?',
                            body: `Stop backing up ${s.name}? Its snapshots stay until they are pruned.`,
                            confirmLabel: 'Remove source',
                            danger: true,
                            onConfirm: () => removeSource.run({ id: s.id }).then(() => sources.reload()),
                          })
                        }
                      >
                        Remove
                      </button>
                    )}
                  </span>
                ),
            },
          ]}
        />
      </Card>

      <StoredChart snapshots={snapshots.data?.snapshots ?? []} />

      <SnapshotsCard
        actions={(s) => (
          <>
            {canOperate && (
              <button disabled={verify.pending} onClick={() => void verify.run({ id: s.id })}>
                Verify
              </button>
            )}
            {isAdmin && <button onClick={() => setRestoreFor({ snapshotId: s.id })}>Restore…</button>}
          </>
        )}
      />

      {isAdmin && sources.data !== undefined && <PointInTime sources={sources.data.sources} onPick={setRestoreFor} />}

      <ReplicasCard canOperate={canOperate} isAdmin={isAdmin} onNotice={setNotice} />

      <Card title="Verification history">
        <DataTable
          testId="backup-verifications"
          rows={verifications.data?.verifications}
          rowKey={(v) => v.id}
          columns={[
            { header: 'When', cell: (v) => formatTime(v.at) },
            { header: 'Snapshot', className: 'mono small', cell: (v) => v.snapshotId },
            { header: 'Result', cell: (v) => <StatusBadge state={v.ok ? 'passing' : 'failed'} /> },
            { header: 'Pages checked', className: 'right', cell: (v) => v.pagesChecked.toLocaleString() },
            {
              header: 'Bad pages',
              cell: (v) =>
                v.badPages.length === 0
                  ? 'none'
                  : `${v.badPages.slice(0, 8).join(', ')}${v.badPages.length > 8 ? ` and ${(v.badPages.length - 8).toLocaleString('en')} more` : ''}`,
            },
            { header: 'Image hash', cell: (v) => (v.imageHashOk ? 'matches' : 'differs') },
            { header: 'integrity_check', className: 'small', cell: (v) => v.integrity.slice(0, 2).join('; ') },
            { header: 'Took', className: 'right', cell: (v) => `${v.durationMs} ms` },
          ]}
        />
      </Card>

      <HistoryCard history={history.data} limit={HISTORY_ROWS} sourceName={sourceName} />

      {restoreFor !== null && (
        <RestoreDialog
          request={restoreFor}
          onClose={(message) => {
            setRestoreFor(null);
            if (message !== undefined) setNotice(message);
          }}
        />
      )}
    </>
  );
}

function ProgressRow({ job, sourceName, onCancel }: { job: Progress; sourceName: string; onCancel?: (() => void) | undefined }) {
  const share = job.total > 0 ? Math.min(1, job.done / job.total) : 0;
  return (
    <div className="backup-progress">
      <div className="small">
        <strong>{job.kind}</strong> <span title={job.sourceId ?? undefined}>{sourceName}</span>{' '}
        {job.snapshotId !== null ? <span className="mono">{job.snapshotId}</span> : null} — {job.phase}{' '}
        {job.total > 1 ? `${job.done.toLocaleString()} / ${job.total.toLocaleString()} pages` : ''}
        {onCancel !== undefined && (
          <button className="link" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
      <div
        className="bar"
        role="progressbar"
        aria-label={`${job.kind} ${sourceName} progress`}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={Math.round(share * 100)}
      >
        <div className="fill" style={{ width: `${share * 100}%` }} />
      </div>
    </div>
  );
}
