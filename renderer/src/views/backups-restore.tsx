/** Restoring: the point-in-time picker and the confirmation dialog with its plan. */
import { useEffect, useState, type FormEvent } from 'react';
import type { OperationResult } from '../../../contract/operations';
import { useAction, useClient } from '../client/client-context';
import { ClientError } from '../client/client';
import { Dialog } from '../components/dialog';
import { Card, ErrorBanner } from '../components/ui';
import { formatBytes, formatTime } from '../components/format';

type Plan = OperationResult<'backup.restore.plan'>;
export type RestoreInput = { snapshotId?: string; sourceId?: string; at?: string; inPlace?: boolean; targetPath?: string };

export function PointInTime({
  sources,
  onPick,
}: {
  sources: OperationResult<'backup.sources.list'>['sources'];
  onPick: (r: RestoreInput) => void;
}) {
  const [sourceId, setSourceId] = useState(sources[0]?.id ?? '');
  const [at, setAt] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    onPick({ sourceId, ...(at === '' ? {} : { at: new Date(at).toISOString() }) });
  };
  return (
    <Card title="Restore to a point in time">
      <form className="inline-form" onSubmit={submit}>
        <label>
          Source
          <select value={sourceId} onChange={(e) => setSourceId(e.target.value)}>
            {sources.map((s) => (
              <option key={s.id} value={s.id}>
                {s.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          As it was at
          <input type="datetime-local" step="1" value={at} onChange={(e) => setAt(e.target.value)} />
        </label>
        <button type="submit">Choose snapshot…</button>
      </form>
      <p className="muted small">The newest snapshot taken at or before that time is restored; empty means the newest.</p>
    </Card>
  );
}

export function RestoreDialog({ request, onClose }: { request: RestoreInput; onClose: (message?: string) => void }) {
  const client = useClient();
  const restore = useAction('backup.restore');
  const [inPlace, setInPlace] = useState(false);
  const [targetPath, setTargetPath] = useState('');
  const [plan, setPlan] = useState<Plan | null>(null);
  const [planError, setPlanError] = useState<ClientError | null>(null);
  const [confirmed, setConfirmed] = useState(false);
  const input: RestoreInput = {
    ...request,
    ...(inPlace ? { inPlace: true } : targetPath.trim() !== '' ? { targetPath: targetPath.trim() } : {}),
  };
  const inputKey = JSON.stringify(input);
  const clearRestoreError = restore.clearError;

  // A new target: a new plan, and the last restore's error (about the old target) goes.
  useEffect(() => {
    setConfirmed(false);
    clearRestoreError();
    if (!inPlace && targetPath.trim() === '') {
      setPlan(null);
      setPlanError(null);
      return;
    }
    let cancelled = false;
    client.call('backup.restore.plan', JSON.parse(inputKey) as RestoreInput).then(
      (p) => !cancelled && (setPlan(p), setPlanError(null)),
      (err: unknown) =>
        !cancelled && (setPlan(null), setPlanError(err instanceof ClientError ? err : new ClientError('PH_INTERNAL', String(err)))),
    );
    return () => {
      cancelled = true;
    };
  }, [client, inputKey, inPlace, targetPath, clearRestoreError]);

  const go = async () => {
    const result = await restore.run(JSON.parse(inputKey) as RestoreInput);
    if (result !== undefined) {
      onClose(
        `Restored ${result.restore.snapshotId} to ${result.restore.target}${result.restore.safetySnapshotId !== null ? ` (safety snapshot ${result.restore.safetySnapshotId})` : ''}`,
      );
    }
  };

  return (
    <Dialog titleId="restore-title" onClose={() => onClose()}>
      <h3 id="restore-title">Restore a snapshot</h3>
      <div className="restore-mode">
        <label className="checkbox">
          <input type="radio" name="restore-mode" checked={!inPlace} onChange={() => setInPlace(false)} /> To a new file
        </label>
        <label className="checkbox">
          <input type="radio" name="restore-mode" checked={inPlace} onChange={() => setInPlace(true)} /> In place (replaces the source
          database)
        </label>
      </div>
      {!inPlace && (
        <label className="block">
          Target path
          <input
            value={targetPath}
            onChange={(e) => setTargetPath(e.target.value)}
            placeholder="/absolute/path/restored.db"
            aria-label="Target path"
          />
        </label>
      )}
      <ErrorBanner error={planError ?? restore.error} />
      {plan !== null && (
        <div className="plan" data-testid="restore-plan">
          <p>
            Snapshot <span className="mono">{plan.snapshot.id}</span> of <strong>{plan.snapshot.sourceName}</strong>, taken{' '}
            {formatTime(plan.snapshot.capturedAt)} ({formatBytes(plan.snapshot.logicalBytes)}).
          </p>
          <p>
            Target <span className="mono">{plan.target}</span>. Safety snapshot first:{' '}
            <strong>{plan.safetySnapshot ? 'yes' : 'no (new file)'}</strong>.
          </p>
          <ol className="small">
            {plan.steps.map((s) => (
              <li key={s}>{s}</li>
            ))}
          </ol>
          <label className="checkbox">
            <input type="checkbox" checked={confirmed} onChange={(e) => setConfirmed(e.target.checked)} /> I understand
            {plan.inPlace ? ' the database will be replaced' : ''}
          </label>
        </div>
      )}
      <div className="modal-actions">
        <button onClick={() => onClose()}>Cancel</button>
        <button className="primary" disabled={plan === null || !confirmed || restore.pending} onClick={() => void go()}>
          {restore.pending ? 'Restoring…' : 'Restore'}
        </button>
      </div>
    </Dialog>
  );
}
