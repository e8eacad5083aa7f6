/** The repository's replicas: state, lag, last verification, transfers, and restoring from one. */
import { useEffect, useState } from 'react';
import type { OperationResult } from '../../../contract/operations';
import { useAction, useOperation } from '../client/client-context';
import { DataTable } from '../components/data-table';
import { Card, ErrorBanner, StatusBadge } from '../components/ui';
import { formatBytes, formatTime } from '../components/format';
import { AddReplicaForm } from './backups-replica-form';

type Replica = OperationResult<'backup.replicas.list'>['replicas'][number];

export function ReplicasCard({ canOperate, isAdmin, onNotice }: { canOperate: boolean; isAdmin: boolean; onNotice: (m: string) => void }) {
  // Polled while a transfer runs, so its bar moves; every 10 s otherwise, for the lag.
  const [busy, setBusy] = useState(false);
  const replicas = useOperation('backup.replicas.list', {}, { refreshOn: ['backup.finished'], intervalMs: busy ? 1000 : 10_000 });
  const sync = useAction('backup.replicas.sync');
  const verify = useAction('backup.replicas.verify');
  const restore = useAction('backup.replicas.restore');
  const add = useAction('backup.replicas.add');
  const [confirmFor, setConfirmFor] = useState<Replica | null>(null);
  const anyTransfer = replicas.data?.replicas.some((r) => r.transfer !== null) ?? false;
  useEffect(() => setBusy(anyTransfer), [anyTransfer]);

  const run = async <T,>(p: Promise<T | undefined>, message: (r: T) => string) => {
    setBusy(true);
    const r = await p;
    setBusy(false);
    replicas.reload();
    if (r !== undefined) onNotice(message(r));
  };
  const onAdd = async (input: Parameters<typeof add.run>[0]): Promise<boolean> => {
    let added = false;
    await run(add.run(input), (r) => ((added = true), `Replica ${r.replica.name} added`));
    return added;
  };

  return (
    <Card title="Replicas">
      <ErrorBanner
        error={replicas.error ?? sync.error ?? verify.error ?? restore.error ?? add.error}
        onDismiss={() => (sync.clearError(), verify.clearError(), restore.clearError(), add.clearError())}
      />
      <DataTable
        testId="backup-replicas"
        rows={replicas.data?.replicas}
        rowKey={(r) => r.id}
        columns={[
          {
            header: 'Replica',
            cell: (r) => (
              <>
                <div>{r.name}</div>
                <div className="muted small mono">
                  {r.kind}: {r.target}
                </div>
              </>
            ),
          },
          {
            header: 'State',
            cell: (r) => (
              <>
                <StatusBadge state={r.state} />{' '}
                {r.lastError !== null && r.state !== 'ok' && <div className="small muted">{r.lastError}</div>}
              </>
            ),
          },
          {
            header: 'Lag',
            cell: (r) =>
              r.lagSnapshots === 0 && r.lagBytes === 0 ? 'up to date' : `${r.lagSnapshots} snapshots, ${formatBytes(r.lagBytes)} behind`,
          },
          { header: 'Last sync', cell: (r) => formatTime(r.lastSyncAt) },
          {
            header: 'Last verified',
            cell: (r) =>
              r.lastVerifiedAt === null ? (
                'never'
              ) : (
                <>
                  <StatusBadge state={r.lastVerifyOk === true ? 'passing' : 'failed'} /> {formatTime(r.lastVerifiedAt)}
                  <div className="small muted">{r.lastVerifyDetail}</div>
                </>
              ),
          },
          { header: 'Transfer', cell: (r) => <Transfer replica={r} /> },
          {
            header: '',
            cell: (r) => (
              <>
                {canOperate && (
                  <button
                    disabled={r.transfer !== null}
                    onClick={() =>
                      void run(
                        sync.run({ id: r.id }),
                        (x) => `${x.replica.name}: ${x.replica.state}, ${x.replica.lagSnapshots} snapshots behind`,
                      )
                    }
                  >
                    Sync now
                  </button>
                )}
                {canOperate && (
                  <button
                    onClick={() =>
                      void run(
                        verify.run({ id: r.id }),
                        (v) => `${r.name}: ${v.pagesChecked} pages checked, ${v.damaged.length} damaged, ${v.repaired.length} repaired`,
                      )
                    }
                  >
                    Verify
                  </button>
                )}
                {isAdmin && <button onClick={() => setConfirmFor(r)}>Restore from this replica…</button>}
              </>
            ),
          },
        ]}
      />
      {replicas.data?.replicas.length === 0 && <p className="muted">No replica yet: the repository lives only on this disk.</p>}
      {confirmFor !== null && (
        <div className="notice" role="alertdialog" aria-label="Restore from replica">
          <span>
            Fetch every pack and snapshot the local repository lacks from <strong>{confirmFor.name}</strong>? The snapshots then restore as
            usual.
          </span>
          <div>
            <button
              onClick={() => {
                const r = confirmFor;
                setConfirmFor(null);
                void run(
                  restore.run({ id: r.id }),
                  (p) => `From ${r.name}: ${p.snapshots} snapshots and ${p.packs} packs (${formatBytes(p.bytes)}) fetched`,
                );
              }}
            >
              Fetch from replica
            </button>{' '}
            <button className="link" onClick={() => setConfirmFor(null)}>
              cancel
            </button>
          </div>
        </div>
      )}
      {isAdmin && <AddReplicaForm pending={add.pending} onAdd={onAdd} onEdit={add.clearError} />}
      <p className="muted small">
        S3-compatible and SFTP replicas are added through the API (backup.replicas.add); their credentials, and a node's API key, stay in
        files outside the database.
      </p>
    </Card>
  );
}

function Transfer({ replica }: { replica: Replica }) {
  const t = replica.transfer;
  if (t === null) return <span className="muted">idle</span>;
  const share = t.total > 0 ? Math.min(1, t.done / t.total) : 0;
  return (
    <div className="backup-progress">
      <div className="small">
        {t.direction === 'push' ? 'sending' : 'fetching'} {formatBytes(t.done)} / {formatBytes(t.total)}
      </div>
      <div
        className="bar"
        role="progressbar"
        aria-label={`${replica.name} transfer`}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={Math.round(share * 100)}
      >
        <div className="fill" style={{ width: `${share * 100}%` }} />
      </div>
    </div>
  );
}
