/** An API key's scopes and rate-limit tier, seen and set in one dialog (keys.update, ratelimit.keys.assign). */
import { useId, useState, type FormEvent } from 'react';
import type { OperationResult } from '../../../contract/operations';
import { useAction } from '../client/client-context';
import { Dialog } from '../components/dialog';
import { ErrorBanner } from '../components/ui';

export type Key = OperationResult<'keys.list'>['keys'][number];

export function KeyDialog({
  apiKey,
  tier,
  tiers,
  onClose,
  onDone,
}: {
  apiKey: Key;
  /** The tier set for this key, or null when it follows its role's default. */
  tier: string | null;
  tiers: readonly string[];
  onClose: () => void;
  /** Called with what was saved, in words. */
  onDone: (saved: string) => void;
}) {
  const titleId = useId();
  const update = useAction('keys.update');
  const assign = useAction('ratelimit.keys.assign');
  const [scopes, setScopes] = useState(apiKey.scopes.join(' '));
  const [chosen, setChosen] = useState(tier ?? '');
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const list = scopes.split(/[\s,]+/).filter((s) => s !== '');
    const changedScopes = list.join(' ') !== apiKey.scopes.join(' ');
    const changedTier = chosen !== (tier ?? '');
    if (changedScopes && (await update.run({ id: apiKey.id, scopes: list })) === undefined) return;
    if (changedTier && (await assign.run({ id: apiKey.id, tier: chosen === '' ? null : chosen })) === undefined) return;
    const what = [
      ...(changedScopes ? [`scopes ${list.length === 0 ? '(none)' : list.join(' ')}`] : []),
      ...(changedTier ? [chosen === '' ? 'the default tier for its role' : `the ${chosen} tier`] : []),
    ];
    onDone(what.length === 0 ? `Nothing changed for ${apiKey.name}.` : `Saved for ${apiKey.name}: ${what.join(', ')}.`);
  };
  return (
    <Dialog titleId={titleId} onClose={onClose}>
      <form
        className="dialog-form"
        onSubmit={(e) => void submit(e)}
        onChange={() => (update.clearError(), assign.clearError())}
        data-testid="key-dialog"
      >
        <h3 id={titleId}>Scopes and tier of {apiKey.name}</h3>
        <p className="muted small">
          Role <strong>{apiKey.role}</strong>, id <span className="mono">{apiKey.id}</span>. The key's next request, on any node, carries
          what you save.
        </p>
        <ErrorBanner error={update.error ?? assign.error} onDismiss={() => (update.clearError(), assign.clearError())} />
        <label className="block">
          Scopes (space separated; <span className="mono">*</span> for all)
          <input value={scopes} onChange={(e) => setScopes(e.target.value)} maxLength={5000} />
        </label>
        <label className="block">
          Rate-limit tier
          <select value={chosen} onChange={(e) => setChosen(e.target.value)}>
            <option value="">the default for its role</option>
            {tiers.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </label>
        <div className="modal-actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={update.pending || assign.pending}>
            Save
          </button>
        </div>
      </form>
    </Dialog>
  );
}
