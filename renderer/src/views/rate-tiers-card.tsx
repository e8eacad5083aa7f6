import { useState, type FormEvent } from 'react';
import { useAction, useOperation } from '../client/client-context';
import { DataTable } from '../components/data-table';
import { Card, ErrorBanner } from '../components/ui';

/** Rate-limit tiers on the Security view: each key's tier and its use of the window, tier editing. */
export function RateTiersCard() {
  const data = useOperation('ratelimit.tiers', {}, { intervalMs: 5_000 });
  const assign = useAction('ratelimit.keys.assign');
  const save = useAction('ratelimit.tiers.save');
  const [draft, setDraft] = useState({ name: '', limit: '600', windowSeconds: '60', burst: '100' });
  const tiers = data.data?.tiers ?? [];

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const limit = draft.limit.trim() === '' ? null : Number(draft.limit);
    const result = await save.run({
      tier: { name: draft.name, limit, windowSeconds: Number(draft.windowSeconds), burst: Number(draft.burst) },
    });
    if (result !== undefined) data.reload();
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
                k.limit === null ? 'unlimited' : <meter min={0} max={k.limit} value={k.used} title={`${k.used} of ${k.limit}`} />,
            },
            { header: 'Of', className: 'right', cell: (k) => (k.limit === null ? '' : `${k.used} / ${k.limit}`) },
            { header: 'Refused (24 h)', className: 'right', cell: (k) => k.refusedLastDay },
          ]}
        />
      </Card>
      <Card title="Tiers">
        <DataTable
          testId="tiers"
          rows={tiers}
          rowKey={(t) => t.name}
          columns={[
            { header: 'Tier', cell: (t) => t.name },
            { header: 'Requests', className: 'right', cell: (t) => t.limit ?? 'unlimited' },
            { header: 'Per', className: 'right', cell: (t) => `${t.windowSeconds} s` },
            { header: 'Burst', className: 'right', cell: (t) => t.burst },
          ]}
        />
        <ErrorBanner error={save.error} onDismiss={save.clearError} />
        <form className="inline-form" onSubmit={(e) => void submit(e)}>
          <label>
            Tier
            <input
              value={draft.name}
              onChange={(e) => setDraft({ ...draft, name: e.target.value })}
              placeholder="e.g. partners"
              required
              pattern="[a-z0-9][a-z0-9_-]*"
            />
          </label>
          <label>
            Requests
            <input value={draft.limit} onChange={(e) => setDraft({ ...draft, limit: e.target.value })} inputMode="numeric" />
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
            Save tier
          </button>
        </form>
      </Card>
    </>
  );
}
