import { useState } from 'react';
import { roleAllows } from '../../../contract/roles';
import { useAction, useOperation, useSession } from '../client/client-context';
import { useConfirm } from '../components/confirm-dialog';
import { DataTable } from '../components/data-table';
import { KeyName } from '../components/key-name';
import { Card, EmptyState, ErrorBanner, PageHeader, StatusBadge } from '../components/ui';
import { formatTime } from '../components/format';
import { AlertHistory, AlertState, SilenceDialog } from './alerts-parts';
import { RuleDialog, type Rule } from './alerts-rule-dialog';
import { formatValue } from '../components/line-chart';

/**
 * Alert rules and what they say now, with the operator's levers: acknowledge an alert, silence a
 * rule for a while (both fleet-wide), and, for an admin, create, edit and delete rules. A rule whose
 * series has had no value says "no data" instead of looking calm.
 */
export function AlertsView() {
  const { role } = useSession();
  const canOperate = roleAllows(role, 'operator');
  const isAdmin = role === 'admin';
  // Each sample (every 10 s) moves the values and may turn "no data" into a state.
  const alerts = useOperation('monitoring.alerts', {}, { refreshOn: ['monitoring.alert', 'monitoring.sample', 'audit.appended'] });
  const acknowledge = useAction('monitoring.alerts.acknowledge');
  const silence = useAction('monitoring.alerts.silence');
  const remove = useAction('monitoring.alerts.delete');
  const [editing, setEditing] = useState<Rule | 'new' | null>(null);
  const [silencing, setSilencing] = useState<Rule | null>(null);
  const { dialog, confirm } = useConfirm();
  const status = new Map((alerts.data?.status ?? []).map((s) => [s.ruleId, s]));
  const now = Date.now();
  const silencedUntil = (rule: Rule) => {
    const until = status.get(rule.id)?.silence?.silencedUntil ?? null;
    return until !== null && Date.parse(until) > now ? until : null;
  };

  return (
    <>
      <PageHeader
        title="Alerts"
        subtitle="Rules on the metric series, what each says on this node now, and every change. Acknowledgements and silences apply on every node."
        actions={
          isAdmin && (
            <button className="primary" onClick={() => setEditing('new')}>
              New rule
            </button>
          )
        }
      />
      {dialog}
      {editing !== null && (
        <RuleDialog
          rule={editing === 'new' ? null : editing}
          onClose={() => setEditing(null)}
          onDone={() => {
            setEditing(null);
            alerts.reload();
          }}
        />
      )}
      {silencing !== null && (
        <SilenceDialog
          name={silencing.name}
          onClose={() => setSilencing(null)}
          onSilence={(seconds) => {
            const ruleId = silencing.id;
            setSilencing(null);
            void silence.run({ ruleId, seconds }).then(() => alerts.reload());
          }}
        />
      )}
      <ErrorBanner
        error={alerts.error ?? acknowledge.error ?? silence.error ?? remove.error}
        onDismiss={() => (acknowledge.clearError(), silence.clearError(), remove.clearError())}
      />
      <Card title="Rules" wide>
        {alerts.data?.rules.length === 0 ? (
          <EmptyState title="No alert rules">{isAdmin ? 'Make one with “New rule”.' : 'An admin can make rules.'}</EmptyState>
        ) : (
          <DataTable
            testId="alerts-rules"
            rows={alerts.data?.rules}
            rowKey={(r) => r.id}
            rowTestId={(r) => `alert-rule-${r.id}`}
            columns={[
              {
                header: 'Rule',
                title: (r) => r.description,
                cell: (r) => (
                  <>
                    {r.name}
                    <div className="muted small mono">{r.id}</div>
                  </>
                ),
              },
              { header: 'Condition', className: 'mono', cell: (r) => `${r.metric} ${r.comparator} ${r.threshold} for ${r.forSeconds}s` },
              { header: 'Severity', cell: (r) => <StatusBadge state={r.severity} /> },
              {
                header: 'Now',
                cell: (r) => {
                  const s = status.get(r.id);
                  if (!r.enabled) return <span className="badge idle">off</span>;
                  return (
                    <>
                      <AlertState state={s?.state ?? 'no-data'} />
                      {s?.value != null && <span className="small muted"> {formatValue(s.value, '')}</span>}
                      {s?.acknowledged === true && (
                        <div className="small muted" data-testid="acknowledged">
                          acknowledged by <KeyName id={s.silence?.acknowledgedBy ?? ''} />
                        </div>
                      )}
                      {silencedUntil(r) !== null && (
                        <div className="small muted" data-testid="silenced">
                          silenced until {formatTime(silencedUntil(r))}
                        </div>
                      )}
                    </>
                  );
                },
              },
              {
                header: 'Actions',
                className: 'right actions',
                cell: (r) => {
                  const s = status.get(r.id);
                  const live = s?.state === 'firing' || s?.state === 'pending';
                  return (
                    <>
                      {canOperate && live && !s.acknowledged && (
                        <button
                          disabled={acknowledge.pending}
                          onClick={() => void acknowledge.run({ ruleId: r.id }).then(() => alerts.reload())}
                        >
                          Acknowledge
                        </button>
                      )}
                      {canOperate &&
                        (silencedUntil(r) === null ? (
                          <button onClick={() => setSilencing(r)}>Silence…</button>
                        ) : (
                          <button onClick={() => void silence.run({ ruleId: r.id, seconds: 0 }).then(() => alerts.reload())}>
                            Unsilence
                          </button>
                        ))}
                      {isAdmin && <button onClick={() => setEditing(r)}>Edit</button>}
                      {isAdmin && (
                        <button
                          className="danger"
                          onClick={() =>
                            confirm({
                              title: 'Delete the rule?',
                              body: `Delete ${r.name} on every node? A firing alert of it resolves.`,
                              confirmLabel: 'Delete rule',
                              danger: true,
                              onConfirm: () => remove.run({ id: r.id }).then(() => alerts.reload()),
                            })
                          }
                        >
                          Delete
                        </button>
                      )}
                    </>
                  );
                },
              },
            ]}
          />
        )}
      </Card>
      <AlertHistory rules={alerts.data?.rules ?? []} />
    </>
  );
}
