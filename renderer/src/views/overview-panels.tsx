/** The Overview's panels that each fetch their own data: usage per key and route, alert rules, browser notifications. */
import { useState } from 'react';
import type { OperationResult } from '../../../contract/operations';
import { useAction, useOperation } from '../client/client-context';
import { DataTable } from '../components/data-table';
import { KeyName } from '../components/key-name';
import { Card, ErrorBanner, StatusBadge } from '../components/ui';
import { formatValue } from '../components/line-chart';

type Overview = OperationResult<'monitoring.overview'>;
type Alert = Overview['alerts'][number];
type Rule = OperationResult<'monitoring.alerts'>['rules'][number];

/** Requests, errors and bytes per API key and route over the last 24 hours, with CSV and JSON export. */
export function UsageCard() {
  const usage = useOperation('monitoring.usage', { groupBy: 'key-route' });
  const exporter = useAction('monitoring.usage.export');
  const download = async (format: 'csv' | 'json') => {
    const file = await exporter.run({ format, groupBy: 'key-route' });
    if (file === undefined) return;
    const url = URL.createObjectURL(new Blob([file.content], { type: file.contentType }));
    const link = document.createElement('a');
    link.href = url;
    link.download = file.filename;
    link.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  };
  const rows = usage.data?.rows ?? [];
  return (
    <Card title="API usage (last 24 h)">
      <ErrorBanner error={usage.error ?? exporter.error} onDismiss={exporter.clearError} />
      <div className="range-picker">
        <button onClick={() => void download('csv')} disabled={exporter.pending}>
          Export CSV
        </button>
        <button onClick={() => void download('json')} disabled={exporter.pending}>
          Export JSON
        </button>
        <button className="link" onClick={usage.reload}>
          Refresh
        </button>
      </div>
      {rows.length === 0 ? (
        <p className="muted">No API requests recorded yet.</p>
      ) : (
        <DataTable
          testId="usage-table"
          rows={rows.slice(0, 8)}
          rowKey={(r) => `${r.keyId} ${r.route}`}
          columns={[
            { header: 'API key', cell: (r) => <KeyName id={r.keyId} /> },
            { header: 'Route', className: 'mono', cell: (r) => r.route },
            { header: 'Requests', className: 'right', cell: (r) => r.requests },
            { header: 'Errors', className: 'right', cell: (r) => r.errors },
            { header: 'In', className: 'right', cell: (r) => formatValue(r.bytesIn, 'bytes') },
            { header: 'Out', className: 'right', cell: (r) => formatValue(r.bytesOut, 'bytes') },
          ]}
        />
      )}
      {rows.length > 8 && <p className="muted small">{rows.length - 8} more rows in the export.</p>}
    </Card>
  );
}

/** A browser (or Electron renderer) notification for an alert that starts or stops firing. */
export function notify(alert: Alert): void {
  if (typeof Notification === 'undefined' || Notification.permission !== 'granted') return;
  if (alert.state === 'firing')
    new Notification(`${alert.severity === 'critical' ? 'Critical' : 'Alert'}: ${alert.name}`, { body: alert.message });
  else if (alert.state === 'resolved') new Notification(`Resolved: ${alert.name}`, { body: alert.message });
}

export function NotificationToggle() {
  const [permission, setPermission] = useState(() => (typeof Notification === 'undefined' ? 'unsupported' : Notification.permission));
  if (permission !== 'default') return null;
  return (
    <>
      {' '}
      <button className="link" onClick={() => void Notification.requestPermission().then(setPermission)}>
        Notify me when an alert fires
      </button>
    </>
  );
}

export function AlertRules({ editable }: { editable: boolean }) {
  const rules = useOperation('monitoring.alerts', {}, { refreshOn: ['monitoring.alert'] });
  const save = useAction('monitoring.alerts.save');
  return (
    <Card title="Alert rules">
      <ErrorBanner error={rules.error ?? save.error} onDismiss={save.clearError} />
      <table className="table" data-testid="alert-rules">
        <thead>
          <tr>
            <th>Rule</th>
            <th>Condition</th>
            <th>For (s)</th>
            <th>Severity</th>
            <th>State</th>
            <th>On</th>
            {editable && <th />}
          </tr>
        </thead>
        <tbody>
          {(rules.data?.rules ?? []).map((rule) => (
            <RuleRow
              key={`${rule.id}:${JSON.stringify(rule)}`}
              rule={rule}
              state={rules.data?.status.find((a) => a.ruleId === rule.id)?.state ?? 'inactive'}
              editable={editable}
              pending={save.pending}
              onSave={async (next) => {
                if ((await save.run({ rule: next })) !== undefined) rules.reload();
              }}
            />
          ))}
        </tbody>
      </table>
      {!editable && <p className="muted small">An admin can change thresholds, durations and turn rules on or off.</p>}
    </Card>
  );
}

function RuleRow({
  rule,
  state,
  editable,
  pending,
  onSave,
}: {
  rule: Rule;
  state: string;
  editable: boolean;
  pending: boolean;
  onSave: (rule: Rule) => Promise<void>;
}) {
  const [threshold, setThreshold] = useState(String(rule.threshold));
  const [forSeconds, setForSeconds] = useState(String(rule.forSeconds));
  const [enabled, setEnabled] = useState(rule.enabled);
  const next: Rule = { ...rule, threshold: Number(threshold), forSeconds: Math.round(Number(forSeconds)), enabled };
  const valid = threshold.trim() !== '' && Number.isFinite(next.threshold) && Number.isInteger(next.forSeconds) && next.forSeconds >= 0;
  const changed = next.threshold !== rule.threshold || next.forSeconds !== rule.forSeconds || next.enabled !== rule.enabled;
  return (
    <tr data-testid={`rule-${rule.id}`}>
      <td title={rule.description}>
        {rule.name}
        <div className="muted small mono">{rule.id}</div>
      </td>
      <td className="mono">
        {rule.metric} {rule.comparator}{' '}
        {editable ? (
          <input
            aria-label={`${rule.name} threshold`}
            className="narrow"
            value={threshold}
            onChange={(e) => setThreshold(e.target.value)}
          />
        ) : (
          rule.threshold
        )}
      </td>
      <td>
        {editable ? (
          <input
            aria-label={`${rule.name} for seconds`}
            className="narrow"
            value={forSeconds}
            onChange={(e) => setForSeconds(e.target.value)}
          />
        ) : (
          rule.forSeconds
        )}
      </td>
      <td>
        <StatusBadge state={rule.severity} />
      </td>
      <td>
        <span className={`badge ${state === 'firing' ? 'bad' : state === 'pending' || state === 'no-data' ? 'warn' : 'idle'}`}>
          {state === 'no-data' ? 'no data' : state}
        </span>
      </td>
      <td>
        <input
          type="checkbox"
          aria-label={`${rule.name} enabled`}
          checked={enabled}
          disabled={!editable}
          onChange={(e) => setEnabled(e.target.checked)}
        />
      </td>
      {editable && (
        <td>
          <button disabled={!changed || !valid || pending} onClick={() => void onSave(next)}>
            Save
          </button>
        </td>
      )}
    </tr>
  );
}
