/** Adding, editing and removing backup sources and their schedules, and cancelling a running snapshot. */
import { useId, useState, type FormEvent } from 'react';
import type { OperationInput, OperationResult } from '../../../contract/operations';
import { useAction, useOperation } from '../client/client-context';
import { Dialog } from '../components/dialog';
import { ErrorBanner } from '../components/ui';
import { PickBackupRoot } from './backups-roots';

type Source = OperationResult<'backup.sources.list'>['sources'][number];
type Retention = NonNullable<OperationInput<'backup.sources.register'>['retention']>;
const keeps = ['keepLast', 'keepHourly', 'keepDaily', 'keepWeekly', 'keepMonthly'] as const;

/** A whole number from a form field, or undefined when it is empty. */
function count(text: string): number | undefined {
  return text.trim() === '' ? undefined : Number(text);
}

/**
 * The source dialog. A new source is checked by the server (under a backup root, a SQLite file,
 * not locked) before anything is recorded; the path field offers this node's backup roots (in a
 * browser; on the desktop "Allow a folder…" adds one). An existing source changes its schedule,
 * continuous interval and retention only.
 */
export function SourceDialog({ source, onClose, onDone }: { source: Source | null; onClose: () => void; onDone: () => void }) {
  const titleId = useId();
  const config = useOperation('system.config', {});
  const register = useAction('backup.sources.register');
  const update = useAction('backup.sources.update');
  const [name, setName] = useState(source?.name ?? '');
  const [path, setPath] = useState(source?.path ?? '');
  const [schedule, setSchedule] = useState(source?.schedule ?? '');
  const [continuous, setContinuous] = useState(source?.continuousSeconds == null ? '' : String(source.continuousSeconds));
  const [retention, setRetention] = useState<Record<(typeof keeps)[number], string>>(
    Object.fromEntries(keeps.map((k) => [k, source?.retention[k] === undefined ? '' : String(source.retention[k])])) as Record<
      (typeof keeps)[number],
      string
    >,
  );
  const [within, setWithin] = useState(source?.retention.keepWithin ?? '');
  const roots = config.data?.backupRoots ?? [];

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const policy: Retention = {};
    for (const k of keeps) {
      const n = count(retention[k]);
      if (n !== undefined) policy[k] = n;
    }
    if (within.trim() !== '') policy.keepWithin = within.trim();
    const common = {
      schedule: schedule.trim() === '' ? null : schedule.trim(),
      continuousSeconds: count(continuous) ?? null,
      retention: policy,
    };
    const result =
      source === null
        ? await register.run({ name: name.trim(), path: path.trim(), ...common })
        : await update.run({ id: source.id, ...common });
    if (result !== undefined) onDone();
  };

  return (
    <Dialog titleId={titleId} onClose={onClose}>
      <form
        className="dialog-form"
        onSubmit={(e) => void submit(e)}
        onChange={() => (register.clearError(), update.clearError())}
        data-testid="source-dialog"
      >
        <h3 id={titleId}>{source === null ? 'Add a backup source' : `Schedule and retention of ${source.name}`}</h3>
        <ErrorBanner error={register.error ?? update.error} onDismiss={() => (register.clearError(), update.clearError())} />
        {source === null && (
          <>
            <label className="block">
              Name
              <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={100} />
            </label>
            <label className="block">
              Path of the SQLite file
              <input value={path} onChange={(e) => setPath(e.target.value)} required maxLength={4096} list="backup-roots" />
              <datalist id="backup-roots">
                {roots.map((r) => (
                  <option key={r} value={`${r}/`} />
                ))}
              </datalist>
            </label>
            {/* Desktop only (nothing in a browser): the system folder dialog, whose folder then fills the path. */}
            <PickBackupRoot onPicked={(folder) => setPath(`${folder}/`)} />
            <p className="muted small" data-testid="backup-roots-hint">
              {roots.length === 0 ? 'No backup roots are configured on this node.' : `Allowed under: ${roots.join(', ')}`}
            </p>
          </>
        )}
        <div className="field-row">
          <label className="block">
            Schedule (cron; empty: manual)
            <input value={schedule} onChange={(e) => setSchedule(e.target.value)} maxLength={100} placeholder="0 2 * * *" />
          </label>
          <label className="block">
            Continuous, every (s)
            <input type="number" min={1} max={86_400} value={continuous} onChange={(e) => setContinuous(e.target.value)} />
          </label>
        </div>
        <fieldset>
          <legend>Retention (empty: not used)</legend>
          <div className="field-row">
            {keeps.map((k) => (
              <label className="block" key={k}>
                {k.replace('keep', 'Keep ').toLowerCase()}
                <input
                  type="number"
                  min={0}
                  max={100_000}
                  value={retention[k]}
                  onChange={(e) => setRetention({ ...retention, [k]: e.target.value })}
                />
              </label>
            ))}
            <label className="block">
              keep within
              <input value={within} onChange={(e) => setWithin(e.target.value)} placeholder="7d" maxLength={40} />
            </label>
          </div>
        </fieldset>
        <div className="modal-actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={register.pending || update.pending}>
            {source === null ? 'Add source' : 'Save'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
