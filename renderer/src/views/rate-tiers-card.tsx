import { useRef, useState } from 'react';
import { useAction, useOperation } from '../client/client-context';
import { useConfirm } from '../components/confirm-dialog';
import { DataTable } from '../components/data-table';
import { Card, ErrorBanner } from '../components/ui';
import { NEW_TIER, RateTierForm } from './rate-tier-form';

/**
 * Rate-limit tiers on the Security view: each key's tier and its use of the window, and (for an
 * admin, `canEdit`) tier editing and assignment. An operator may read them, not change them.
 */
export function RateTiersCard({ canEdit }: { canEdit: boolean }) {
  const data = useOperation('ratelimit.tiers', {}, { intervalMs: 5_000 });
  const assign = useAction('ratelimit.keys.assign');
  const remove = useAction('ratelimit.tiers.delete');
  const { dialog, confirm } = useConfirm();
  const [draft, setDraft] = useState(NEW_TIER);
  // What the last change did, said in the card it was made in.
  const [done, setDone] = useState<{ card: 'key-tiers' | 'tiers'; text: string } | null>(null);
  const nameInput = useRef<HTMLInputElement>(null);
  const tiers = data.data?.tiers ?? [];
  type Tier = (typeof tiers)[number];
  const editing = tiers.some((t) => t.name === draft.name);
  const moveKey = async (key: { keyId: string; name: string }, tier: string) => {
    setDone(null);
    const result = await assign.run({ id: key.keyId, tier });
    if (result !== undefined) setDone({ card: 'key-tiers', text: `Moved ${key.name} to the ${result.key.tier} tier.` });
    data.reload();
  };
  const notice = (card: 'key-tiers' | 'tiers') =>
    done?.card === card && (
      <div className="notice ok" role="status" data-testid={`${card}-result`}>
        {done.text}{' '}
        <button className="link" onClick={() => setDone(null)}>
          OK
        </button>
      </div>
    );

  return (
    <>
      <Card title={`Rate limits (counted in ${data.data?.backend ?? '…'})`}>
        <ErrorBanner error={data.error ?? assign.error} onDismiss={assign.clearError} />
        {notice('key-tiers')}
        <DataTable
          testId="key-tiers"
          rows={data.data?.keys}
          rowKey={(k) => k.keyId}
          rowTestId={(k) => `key-tier-${k.name}`}
          columns={[
            { header: 'Key', cell: (k) => k.name },
            {
              header: 'Tier',
              cell: (k) =>
                !canEdit ? (
                  k.tier
                ) : (
                  <select aria-label={`Tier of ${k.name}`} value={k.tier} onChange={(e) => void moveKey(k, e.target.value)}>
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
            ...(!canEdit
              ? []
              : [
                  {
                    header: 'Actions',
                    className: 'right actions',
                    cell: (t: Tier) =>
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
                ]),
          ]}
        />
        <ErrorBanner error={remove.error} onDismiss={remove.clearError} />
        {notice('tiers')}
        {canEdit && (
          <RateTierForm
            draft={draft}
            setDraft={setDraft}
            editing={editing}
            nameInput={nameInput}
            onSaved={(text) => {
              setDraft(NEW_TIER);
              setDone({ card: 'tiers', text });
              data.reload();
            }}
          />
        )}
      </Card>
      {dialog}
    </>
  );
}
