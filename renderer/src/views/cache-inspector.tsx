/**
 * One cache key as RedisInsight shows it: each tier's state, the value as a JSON tree, a time to
 * live that counts down, and edit (cache.put) or delete. It reads again whenever the key is
 * invalidated or written anywhere in the fleet, so a deleted key never stays "fresh" here.
 */
import { useEffect, useId, useState, type FormEvent } from 'react';
import type { OperationResult } from '../../../contract/operations';
import { useAction, useEvent, useOperation } from '../client/client-context';
import type { ConfirmRequest } from '../components/confirm-dialog';
import { Dialog } from '../components/dialog';
import { JsonTree } from '../components/json-tree';
import { ErrorBanner } from '../components/ui';
import { formatDuration } from '../components/format';

type Inspected = OperationResult<'cache.inspect'>;
type TierView = NonNullable<Inspected['tiers']['l1']>;

/** The current time, moving every `ms`: what a countdown redraws from. */
function useNow(ms = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}

/** The longest-lived copy among the tiers that hold the key. */
function longest(tiers: Inspected['tiers']): TierView | null {
  const held = [tiers.l1, tiers.l2, tiers.l3].filter((t): t is TierView => t !== null);
  return held.reduce<TierView | null>((best, t) => (best === null || t.staleUntil > best.staleUntil ? t : best), null);
}

function Countdown({ copy }: { copy: TierView | null }) {
  const now = useNow();
  if (copy === null) return <span className="badge idle">not held</span>;
  const text =
    copy.freshUntil > now
      ? `fresh for ${formatDuration((copy.freshUntil - now) / 1000)}`
      : copy.staleUntil > now
        ? `stale, served for ${formatDuration((copy.staleUntil - now) / 1000)} more`
        : 'expired';
  return (
    <span className={`badge ${copy.freshUntil > now ? 'ok' : copy.staleUntil > now ? 'warn' : 'idle'}`} data-testid="key-ttl">
      {text}
    </span>
  );
}

function EditValue({ data, onClose }: { data: Inspected; onClose: (saved: boolean) => void }) {
  const titleId = useId();
  const put = useAction('cache.put');
  const copy = longest(data.tiers);
  const [text, setText] = useState(() => JSON.stringify(data.value ?? null, null, 2));
  // The time to live it had when it was written, so an edit does not change how long the key lives.
  const [ttl, setTtl] = useState(() => String(copy === null ? 300 : Math.max(1, Math.round((copy.freshUntil - copy.createdAt) / 1000))));
  let parsed: { ok: true; value: unknown } | { ok: false; message: string };
  try {
    parsed = { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    parsed = { ok: false, message: (err as Error).message };
  }
  const save = async (event: FormEvent) => {
    event.preventDefault();
    if (!parsed.ok) return;
    const result = await put.run({
      namespace: data.namespace,
      key: data.key,
      value: parsed.value,
      ttl: Number(ttl) * 1000,
      ...(copy !== null && copy.tags.length > 0 ? { tags: copy.tags } : {}),
    });
    if (result !== undefined) onClose(true);
  };
  return (
    <Dialog titleId={titleId} onClose={() => onClose(false)}>
      <h3 id={titleId}>
        Edit <span className="mono">{`${data.namespace}/${data.key}`}</span>
      </h3>
      <form onSubmit={(e) => void save(e)} onChange={put.clearError} style={{ display: 'grid', gap: 10 }}>
        <label className="block">
          Value (JSON)
          <textarea
            value={text}
            onChange={(e) => setText(e.target.value)}
            aria-label="Value"
            aria-invalid={!parsed.ok}
            spellCheck={false}
          />
        </label>
        {!parsed.ok && (
          <div className="notice bad" role="alert">
            Not JSON: {parsed.message}
          </div>
        )}
        <label className="block">
          Time to live (seconds)
          <input type="number" min={1} max={315_360_000} step={1} value={ttl} onChange={(e) => setTtl(e.target.value)} />
        </label>
        <p className="muted small">Written through every tier; other nodes drop their copies.</p>
        <ErrorBanner error={put.error} onDismiss={put.clearError} />
        <div className="modal-actions">
          <button type="button" onClick={() => onClose(false)}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={!parsed.ok || put.pending}>
            Save
          </button>
        </div>
      </form>
    </Dialog>
  );
}

export function KeyInspector({
  namespace,
  cacheKey,
  canEdit,
  confirm,
  onChanged,
  refresh,
}: {
  namespace: string;
  cacheKey: string;
  canEdit: boolean;
  confirm: (request: ConfirmRequest) => void;
  onChanged: () => void;
  /** Changed by the browser after its own bulk delete: read again without waiting for the event. */
  refresh: number;
}) {
  const inspect = useOperation('cache.inspect', { namespace, key: cacheKey }, { deps: [refresh] });
  const invalidate = useAction('cache.invalidate');
  const [editing, setEditing] = useState(false);
  const reload = inspect.reload;
  // Dropped or written on any node: read the key again rather than show what it was.
  useEvent('cache.invalidated', (e) => {
    if (e.namespace === namespace && (e.all === true || e.tags !== undefined || e.keys?.includes(cacheKey) === true)) reload();
  });
  useEvent('cache.written', (e) => {
    if (e.namespace === namespace && e.keys.includes(cacheKey)) reload();
  });
  const data = inspect.data;
  const remove = () =>
    confirm({
      title: `Delete ${namespace}/${cacheKey}?`,
      body: <p>It is dropped from every tier on every node.</p>,
      confirmLabel: 'Delete key',
      danger: true,
      onConfirm: async () => {
        if ((await invalidate.run({ namespace, keys: [cacheKey] })) !== undefined) {
          reload();
          onChanged();
        }
      },
    });

  return (
    <div className="key-inspector" data-testid="key-inspector">
      <ErrorBanner error={inspect.error ?? invalidate.error} onDismiss={invalidate.clearError} />
      {data !== undefined && (
        <>
          <div style={{ display: 'flex', gap: 6, flexWrap: 'wrap', alignItems: 'center' }}>
            <strong className="mono">
              {data.namespace}/{data.key}
            </strong>
            {(['l1', 'l2', 'l3'] as const).map((tier) => {
              const v = data.tiers[tier];
              return (
                <span key={tier} className={`badge ${v === null ? 'idle' : v.fresh ? 'ok' : 'warn'}`}>
                  {tier.toUpperCase()} {v === null ? 'absent' : v.fresh ? 'fresh' : 'stale'}
                </span>
              );
            })}
            <Countdown copy={longest(data.tiers)} />
            <span style={{ flex: 1 }} />
            {canEdit && data.preview !== null && data.value !== undefined && <button onClick={() => setEditing(true)}>Edit value…</button>}
            {canEdit && data.preview !== null && (
              <button className="danger" onClick={remove}>
                Delete key…
              </button>
            )}
          </div>
          {data.value !== undefined ? (
            <JsonTree value={data.value} label={`Value of ${data.key}`} />
          ) : (
            <code className="secret">{data.preview ?? '(no value)'}</code>
          )}
          {editing && (
            <EditValue
              data={data}
              onClose={(saved) => {
                setEditing(false);
                if (saved) {
                  reload();
                  onChanged();
                }
              }}
            />
          )}
        </>
      )}
    </div>
  );
}
