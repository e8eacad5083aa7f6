import { useRef, useState, type FormEvent } from 'react';
import { useAction, useOperation } from '../client/client-context';
import { useConfirm } from '../components/confirm-dialog';
import { DataTable } from '../components/data-table';
import { Card, ErrorBanner } from '../components/ui';

const NEW_TIER = { name: '', limit: '600', windowSeconds: '60', burst: '100' };

/** Rate-limit tiers on the Security view: each key's tier and its use of the window, tier editing. */
export function RateTiersCard() {
  const data = useOperation('ratelimit.tiers', {}, { intervalMs: 5_000 });
  const assign = useAction('ratelimit.keys.assign');
  const save = useAction('ratelimit.tiers.save');
  const remove = useAction('ratelimit.tiers.delete');
  const { dialog, confirm } = useConfirm();
  const [draft, setDraft] = useState(NEW_TIER);
  const nameInput = useRef<HTMLInputElement>(null);
  const tiers = data.data?.tiers ?? [];
  const editing = tiers.some((t) => t.name === draft.name);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const limit = draft.limit.trim() === '' ? null : Number(draft.limit);
    const result = await save.run({
      tier: { name: draft.name, limit, windowSeconds: Number(draft.windowSeconds), burst: Number(draft.burst) },
    });
    if (result !== undefined) {
      setDraft(NEW_TIER);
      data.reload();
    }
  };

  return (
    <>
      <Card title={`Rate limits (counted in ${data.data?.backend ?? '…'})`}>
        <ErrorBanner error={data.error ?? assign.error} onDismiss={assign.clearError} />
        <DataTable
          testId="key-tiers"
          rows={data.data?.keys}
          rowKey={(k) => k.keyId}
          rowTestId={(k) => `key-tier-${k.name}`}
          columns={[
            { header: 'Key', cell: (k) => k.name },
            {
              header: 'Tier',
              cell: (k) => (
                <select
                  aria-label={`Tier of ${k.name}`}
                  value={k.tier}
                  onChange={(e) => void assign.run({ id: k.keyId, tier: e.target.value }).then(() => data.reload())}
                >
                  {tiers.map((t) => (
                    <option key={t.name} value={t.name}>
                      {t.name}
                    </option>
                  ))}
                </select>
              ),
            },
            {
              header: 'Used this window',
              className: 'right',
              cell: (k) =>
                k.limit === null ? (
                  'unlimited'
                ) : (
                  <span className="usage" title={`resets in ${k.resetSeconds} s`}>
                    <meter
                      min={0}
                      max={k.limit}
                      high={k.limit * 0.8}
                      optimum={0}
                      value={k.used}
                      aria-label={`${k.name}: used of its limit`}
                    />
                    {k.used.toLocaleString()} / {k.limit.toLocaleString()}
                  </span>
                ),
            },
            { header: 'Refused (24 h)', className: 'right', cell: (k) => k.refusedLastDay.toLocaleString() },
          ]}
        />
      </Card>
      <Card title="Tiers">
        <DataTable
          testId="tiers"
          rows={tiers}
          rowKey={(t) => t.name}
          rowTestId={(t) => `tier-${t.name}`}
          columns={[
            { header: 'Tier', cell: (t) => t.name },
            { header: 'Requests', className: 'right', cell: (t) => t.limit?.toLocaleString() ?? 'unlimited' },
            // Window and burst mean nothing without a limit.
            { header: 'Per', className: 'right', cell: (t) => (t.limit === null ? '—' : `${t.windowSeconds} s`) },
            { header: 'Burst', className: 'right', cell: (t) => (t.limit === null ? '—' : t.burst.toLocaleString()) },
            {
              header: 'Actions',
              className: 'right actions',
              cell: (t) =>
                // The built-in tier without a limit (admin keys, the console's session): the server refuses to give it one.
                t.builtin === true && t.limit === null ? (
                  'built in'
                ) : (
                  <>
                    <button
                      onClick={() => {
                        setDraft({
                          name: t.name,
                          limit: String(t.limit ?? ''),
                          windowSeconds: String(t.windowSeconds),
                          burst: String(t.burst),
                        });
                        nameInput.current?.focus();
                      }}
                    >
                      Edit
                    </button>
                    {t.builtin !== true && (
                      <button
                        className="danger"
                        onClick={() =>
                          confirm({
                            title: `Delete the ${t.name} tier?`,
                            body: `Keys on ${t.name} go back to the default tier for their role.`,
                            confirmLabel: 'Delete tier',
                            danger: true,
                            onConfirm: () => remove.run({ name: t.name }).then(() => data.reload()),
                          })
                        }
                      >
                        Delete
                      </button>
                    )}
                  </>
                ),
            },
          ]}
        />
        <ErrorBanner error={remove.error} onDismiss={remove.clearError} />
        <ErrorBanner error={save.error} onDismiss={save.clearError} />
        <form className="inline-form" aria-label="Tier" onSubmit={(e) => void submit(e)}>
          <label>
            Tier
            <input
              ref={nameInput}
              value={draft.name}
              onChange={(e) => setDraft({ ...draft, name: e.target.value })}
              placeholder="e.g. partners"
              required
              pattern="[a-z0-9][a-z0-9_-]*"
            />
          </label>
          <label>
            Requests
            <input
              value={draft.limit}
              onChange={(e) => setDraft({ ...draft, limit: e.target.value })}
              inputMode="numeric"
              placeholder="empty: no limit"
            />
          </label>
          <label>
            Per seconds
            <input
              value={draft.windowSeconds}
              onChange={(e) => setDraft({ ...draft, windowSeconds: e.target.value })}
              inputMode="numeric"
            />
          </label>
          <label>
            Burst
            <input value={draft.burst} onChange={(e) => setDraft({ ...draft, burst: e.target.value })} inputMode="numeric" />
          </label>
          <button type="submit" disabled={save.pending || draft.name === ''}>
            {editing ? `Save ${draft.name}` : 'Add tier'}
          </button>
          {draft !== NEW_TIER && (
            <button type="button" onClick={() => setDraft(NEW_TIER)}>
              Clear
            </button>
          )}
        </form>
      </Card>
      {dialog}
    </>
  );
}
