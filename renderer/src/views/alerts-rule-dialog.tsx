/** Creating and editing an alert rule, with the last hour of its series drawn beside the threshold. */
import { useId, useMemo, useState, type FormEvent } from 'react';
import type { OperationResult } from '../../../contract/operations';
import { useAction, useOperation } from '../client/client-context';
import { Dialog } from '../components/dialog';
import { ErrorBanner } from '../components/ui';
import { LineChart, formatValue } from '../components/line-chart';

export type Rule = OperationResult<'monitoring.alerts'>['rules'][number];
const comparators: readonly Rule['comparator'][] = ['>', '>=', '<', '<=', '==', '!='];
const severities: readonly Rule['severity'][] = ['info', 'warning', 'critical'];
const HOUR = 3_600_000;

/** The id a new rule gets from its name: what the contract's pattern accepts. */
function idOf(name: string): string {
  return (
    name
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, '-')
      .replace(/^[^a-z0-9]+/, '')
      .slice(0, 80) || 'rule'
  );
}

export function RuleDialog({ rule, onClose, onDone }: { rule: Rule | null; onClose: () => void; onDone: () => void }) {
  const titleId = useId();
  const series = useOperation('monitoring.series', {});
  const save = useAction('monitoring.alerts.save');
  const [name, setName] = useState(rule?.name ?? '');
  const [metric, setMetric] = useState(rule?.metric ?? '');
  const [comparator, setComparator] = useState<Rule['comparator']>(rule?.comparator ?? '>');
  const [threshold, setThreshold] = useState(rule === null ? '' : String(rule.threshold));
  const [forSeconds, setForSeconds] = useState(String(rule?.forSeconds ?? 60));
  const [severity, setSeverity] = useState<Rule['severity']>(rule?.severity ?? 'warning');
  const [enabled, setEnabled] = useState(rule?.enabled ?? true);
  const [description, setDescription] = useState(rule?.description ?? '');
  const known = series.data?.series ?? [];
  const chosen = metric !== '' ? metric : (known[0]?.name ?? '');

  const next: Rule = {
    id: rule?.id ?? idOf(name),
    name: name.trim(),
    metric: chosen,
    comparator,
    threshold: Number(threshold),
    forSeconds: Number(forSeconds),
    severity,
    enabled,
    description: description.trim(),
  };
  const valid =
    next.name !== '' &&
    next.metric !== '' &&
    threshold.trim() !== '' &&
    Number.isFinite(next.threshold) &&
    Number.isInteger(next.forSeconds) &&
    next.forSeconds >= 0 &&
    next.forSeconds <= 86_400;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if ((await save.run({ rule: next })) !== undefined) onDone();
  };

  return (
    <Dialog titleId={titleId} onClose={onClose}>
      <form className="dialog-form" onSubmit={(e) => void submit(e)} onChange={save.clearError} data-testid="rule-dialog">
        <h3 id={titleId}>{rule === null ? 'New alert rule' : `Edit ${rule.name}`}</h3>
        <ErrorBanner error={series.error ?? save.error} onDismiss={save.clearError} />
        <label className="block">
          Name
          <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={120} />
        </label>
        <div className="field-row">
          <label className="block">
            Series
            <select value={chosen} onChange={(e) => setMetric(e.target.value)}>
              {rule !== null && !known.some((s) => s.name === rule.metric) && (
                <option value={rule.metric}>{rule.metric} (not registered)</option>
              )}
              {known.map((s) => (
                <option key={s.name} value={s.name}>
                  {s.name}
                </option>
              ))}
            </select>
          </label>
          <label className="block">
            Is
            <select value={comparator} onChange={(e) => setComparator(e.target.value as Rule['comparator'])}>
              {comparators.map((c) => (
                <option key={c} value={c}>
                  {c}
                </option>
              ))}
            </select>
          </label>
          <label className="block">
            Threshold
            <input value={threshold} onChange={(e) => setThreshold(e.target.value)} inputMode="decimal" required />
          </label>
          <label className="block">
            For (s)
            <input type="number" min={0} max={86_400} value={forSeconds} onChange={(e) => setForSeconds(e.target.value)} />
          </label>
          <label className="block">
            Severity
            <select value={severity} onChange={(e) => setSeverity(e.target.value as Rule['severity'])}>
              {severities.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </label>
        </div>
        {chosen !== '' && (
          <SeriesPreview metric={chosen} threshold={Number.isFinite(next.threshold) && threshold.trim() !== '' ? next.threshold : null} />
        )}
        <label className="block">
          What to do when it fires
          <textarea value={description} onChange={(e) => setDescription(e.target.value)} maxLength={500} rows={2} />
        </label>
        <label className="checkbox">
          <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} /> Enabled
        </label>
        <div className="modal-actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={!valid || save.pending}>
            {rule === null ? 'Create rule' : 'Save rule'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/** The series over the last hour with the threshold as a second line; "no data" when it has no samples. */
function SeriesPreview({ metric, threshold }: { metric: string; threshold: number | null }) {
  // The hour is fixed when the series is picked: a range that moved each render would refetch forever.
  const range = useMemo(() => ({ to: Date.now(), from: Date.now() - HOUR }), [metric]); // eslint-disable-line react-hooks/exhaustive-deps
  const history = useOperation('monitoring.history', { series: [metric], ...range });
  const found = history.data?.series.find((s) => s.name === metric);
  const points = found?.points ?? [];
  const unit = found?.unit ?? '';
  if (history.data === undefined) return <p className="muted small">Loading the last hour of {metric}…</p>;
  if (points.length === 0)
    return (
      <p className="notice" role="status" data-testid="rule-preview-no-data">
        No data: {metric} has no samples in the last hour, so a rule on it cannot fire yet.
      </p>
    );
  const last = points.at(-1)?.avg ?? 0;
  return (
    <div data-testid="rule-preview">
      <LineChart
        title={`${metric}, last hour (now ${formatValue(last, unit)})`}
        from={history.data.from}
        to={history.data.to}
        stepMs={history.data.stepSeconds * 1000}
        series={[
          { name: metric, label: metric, unit, points },
          ...(threshold === null
            ? []
            : [
                {
                  name: 'threshold',
                  label: 'threshold',
                  unit,
                  // At the series' own times: the chart draws a jump over several steps as a gap.
                  points: points.map((p) => ({ t: p.t, avg: threshold })),
                },
              ]),
        ]}
      />
    </div>
  );
}
