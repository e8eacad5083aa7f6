/** The Jobs view's forms: add a job (type, JSON payload, priority, delay) and retry every dead job of a type. */
import { useId, useState, type FormEvent } from 'react';
import { useAction, useClient } from '../client/client-context';
import { ClientError } from '../client/client';
import type { ConfirmRequest } from '../components/confirm-dialog';
import { Dialog } from '../components/dialog';
import { ErrorBanner } from '../components/ui';

/** The payload text as JSON, or why it is not (an empty box is no payload). */
function parsePayload(text: string): { ok: true; value: unknown } | { ok: false; message: string } {
  if (text.trim() === '') return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    return { ok: false, message: (err as Error).message };
  }
}

export function AddJobDialog({ types, onClose }: { types: readonly string[]; onClose: (added?: string) => void }) {
  const titleId = useId();
  const enqueue = useAction('jobs.enqueue');
  const [type, setType] = useState(types[0] ?? '');
  const [payload, setPayload] = useState('{}');
  const [priority, setPriority] = useState('0');
  const [delay, setDelay] = useState('0');
  const parsed = parsePayload(payload);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!parsed.ok) return;
    const delaySeconds = Number(delay);
    const result = await enqueue.run({
      type,
      ...(parsed.value === undefined ? {} : { payload: parsed.value }),
      priority: Number(priority),
      ...(delaySeconds > 0 ? { delayMs: Math.round(delaySeconds * 1000) } : {}),
    });
    if (result !== undefined) onClose(result.job.id);
  };
  return (
    <Dialog titleId={titleId} onClose={() => onClose()}>
      <h3 id={titleId}>Add a job</h3>
      <form onSubmit={(e) => void submit(e)} onChange={enqueue.clearError} style={{ display: 'grid', gap: 10 }} data-testid="add-job-form">
        <label className="block">
          Type
          <select value={type} onChange={(e) => setType(e.target.value)} aria-label="Job type">
            {types.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </label>
        <label className="block">
          Payload (JSON)
          <textarea
            value={payload}
            onChange={(e) => setPayload(e.target.value)}
            aria-label="Payload"
            aria-invalid={!parsed.ok}
            aria-describedby={parsed.ok ? undefined : `${titleId}-payload-error`}
            spellCheck={false}
          />
        </label>
        {!parsed.ok && (
          <div className="notice bad" id={`${titleId}-payload-error`} role="alert">
            Not JSON: {parsed.message}
          </div>
        )}
        <div className="inline-form">
          <label>
            Priority (-100 to 100, higher first)
            <input type="number" min={-100} max={100} step={1} value={priority} onChange={(e) => setPriority(e.target.value)} />
          </label>
          <label>
            Delay (seconds)
            <input type="number" min={0} max={31_536_000} step={1} value={delay} onChange={(e) => setDelay(e.target.value)} />
          </label>
        </div>
        <ErrorBanner error={enqueue.error} onDismiss={enqueue.clearError} />
        <div className="modal-actions">
          <button type="button" onClick={() => onClose()}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={!parsed.ok || type === '' || enqueue.pending}>
            {enqueue.pending ? 'Adding…' : 'Add job'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/**
 * Retry every dead job of a type: the count comes from the server first and is in the question,
 * then one `jobs.retryDead` does them all (audited once).
 */
export function RetryAllDead({
  types,
  confirm,
  onDone,
}: {
  types: readonly string[];
  confirm: (request: ConfirmRequest) => void;
  onDone: (text: string) => void;
}) {
  const client = useClient();
  const retryDead = useAction('jobs.retryDead');
  const [type, setType] = useState('');
  const [countError, setCountError] = useState<ClientError | null>(null);
  const chosen = type === '' ? (types[0] ?? '') : type;
  const ask = async () => {
    setCountError(null);
    let total: number;
    try {
      total = (await client.call('jobs.list', { state: 'dead', type: chosen, limit: 1 })).total;
    } catch (err) {
      setCountError(err instanceof ClientError ? err : new ClientError('PH_INTERNAL', String(err)));
      return;
    }
    if (total === 0) {
      onDone(`No dead ${chosen} job to retry.`);
      return;
    }
    confirm({
      title: `Retry ${total} dead ${chosen} job${total === 1 ? '' : 's'}?`,
      body: <p>Each runs again with its attempts reset. Dead jobs of other types stay where they are.</p>,
      confirmLabel: `Retry ${total}`,
      onConfirm: async () => {
        const result = await retryDead.run({ type: chosen });
        if (result !== undefined)
          onDone(
            `Retried ${result.retried} dead ${chosen} job${result.retried === 1 ? '' : 's'}` +
              (result.failed.length > 0 ? `; ${result.failed.length} could not be (${result.failed[0]?.code})` : '') +
              '.',
          );
      },
    });
  };
  if (types.length === 0) return null;
  return (
    <div className="inline-form" data-testid="retry-all-dead" onChange={() => (setCountError(null), retryDead.clearError())}>
      <label>
        Type
        <select aria-label="Dead letters of type" value={chosen} onChange={(e) => setType(e.target.value)}>
          {types.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
      </label>
      <button onClick={() => void ask()} disabled={retryDead.pending}>
        Retry all dead of this type…
      </button>
      <ErrorBanner error={countError ?? retryDead.error} onDismiss={() => (setCountError(null), retryDead.clearError())} />
    </div>
  );
}
