/** The Security view's tier form: a tier's name, limit, window and burst, checked against the contract before sending. */
import { useId, type FormEvent, type RefObject } from 'react';
import { RateTierSchema } from '../../../contract/ops/ratelimit';
import { useAction } from '../client/client-context';
import { ErrorBanner } from '../components/ui';

export interface TierDraft {
  name: string;
  limit: string;
  windowSeconds: string;
  burst: string;
}

export const NEW_TIER: TierDraft = { name: '', limit: '600', windowSeconds: '60', burst: '100' };

type NumberField = 'limit' | 'windowSeconds' | 'burst';
const fieldLabels: Record<NumberField, string> = { limit: 'Requests', windowSeconds: 'Per seconds', burst: 'Burst' };
// The server's own bounds (contract/ops/ratelimit.ts), so the form refuses what the server would.
const bounds: Record<NumberField, { minimum?: number; maximum?: number }> = {
  limit: RateTierSchema.properties.limit.anyOf[0],
  windowSeconds: RateTierSchema.properties.windowSeconds,
  burst: RateTierSchema.properties.burst,
};

/** The field's whole number, or why it is not one the server takes. */
function wholeNumber(field: NumberField, text: string): { value: number } | { problem: string } {
  const { minimum = 0, maximum = Number.MAX_SAFE_INTEGER } = bounds[field];
  const value = Number(text.trim());
  // Digits only: `1e15`, `-5`, `1.5` and `ten` are not a count of requests or seconds.
  if (/^\d+$/.test(text.trim()) && value >= minimum && value <= maximum) return { value };
  const range = `a whole number from ${minimum.toLocaleString('en')} to ${maximum.toLocaleString('en')}`;
  return { problem: `${fieldLabels[field]} must be ${range}${field === 'limit' ? ', or empty for no limit' : ''}.` };
}

/** The tier the draft describes, or each field's problem. An empty Requests is no limit. */
function parseDraft(draft: TierDraft) {
  const problems: Partial<Record<NumberField, string>> = {};
  const read = (field: NumberField): number => {
    const parsed = wholeNumber(field, draft[field]);
    if ('problem' in parsed) problems[field] = parsed.problem;
    return 'value' in parsed ? parsed.value : 0;
  };
  const limit = draft.limit.trim() === '' ? null : read('limit');
  const tier = { name: draft.name, limit, windowSeconds: read('windowSeconds'), burst: read('burst') };
  return { tier, problems };
}

export function RateTierForm({
  draft,
  setDraft,
  editing,
  nameInput,
  onSaved,
}: {
  draft: TierDraft;
  setDraft: (draft: TierDraft) => void;
  /** Whether the draft names an existing tier (Save) rather than a new one (Add). */
  editing: boolean;
  nameInput: RefObject<HTMLInputElement | null>;
  onSaved: (text: string) => void;
}) {
  const save = useAction('ratelimit.tiers.save');
  const errorId = useId();
  const { tier, problems } = parseDraft(draft);
  const change = (field: keyof TierDraft, value: string) => {
    save.clearError();
    setDraft({ ...draft, [field]: value });
  };
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (Object.keys(problems).length > 0) return;
    const result = await save.run({ tier });
    if (result === undefined) return;
    const saved = result.tier;
    onSaved(
      `Saved tier ${saved.name}: ${saved.limit === null ? 'no limit' : `${saved.limit.toLocaleString('en')} requests per ${saved.windowSeconds} s`}.`,
    );
  };
  const numberInput = (field: NumberField, placeholder?: string) => (
    <label>
      {fieldLabels[field]}
      <input
        value={draft[field]}
        onChange={(e) => change(field, e.target.value)}
        inputMode="numeric"
        placeholder={placeholder}
        aria-invalid={problems[field] !== undefined}
        aria-describedby={problems[field] === undefined ? undefined : `${errorId}-${field}`}
      />
    </label>
  );
  return (
    <>
      <ErrorBanner error={save.error} onDismiss={save.clearError} />
      <form className="inline-form" aria-label="Tier" onSubmit={(e) => void submit(e)}>
        <label>
          Tier
          <input
            ref={nameInput}
            value={draft.name}
            onChange={(e) => change('name', e.target.value)}
            placeholder="e.g. partners"
            required
            pattern="[a-z0-9][a-z0-9_\-]*"
          />
        </label>
        {numberInput('limit', 'empty: no limit')}
        {numberInput('windowSeconds')}
        {numberInput('burst')}
        <button type="submit" disabled={save.pending || draft.name === ''}>
          {editing ? `Save ${draft.name}` : 'Add tier'}
        </button>
        {draft !== NEW_TIER && (
          <button type="button" onClick={() => (save.clearError(), setDraft(NEW_TIER))}>
            Clear
          </button>
        )}
      </form>
      {(Object.keys(problems) as NumberField[]).map((field) => (
        <div key={field} className="notice bad" id={`${errorId}-${field}`} role="alert" data-testid={`tier-${field}-problem`}>
          {problems[field]}
        </div>
      ))}
    </>
  );
}
