/** The Alerts view's pieces: the silence dialog and the history of state changes. */
import { useId, useState, type FormEvent } from 'react';
import type { OperationResult } from '../../../contract/operations';
import { useClient } from '../client/client-context';
import { usePagedList } from '../client/paged-list';
import { DataTable, PageFooter } from '../components/data-table';
import { Dialog } from '../components/dialog';
import { Card, ErrorBanner, StatusBadge } from '../components/ui';
import { formatTime } from '../components/format';
import { useThrottledReload } from './jobs-parts';

type AlertEvent = OperationResult<'monitoring.alerts.history'>['events'][number];

const durations = [
  { label: '15 minutes', seconds: 900 },
  { label: '1 hour', seconds: 3600 },
  { label: '4 hours', seconds: 4 * 3600 },
  { label: '1 day', seconds: 86_400 },
  { label: '7 days', seconds: 7 * 86_400 },
] as const;

/** Asks how long to silence a rule; `onSilence` gets the seconds. */
export function SilenceDialog({ name, onClose, onSilence }: { name: string; onClose: () => void; onSilence: (seconds: number) => void }) {
  const titleId = useId();
  const [seconds, setSeconds] = useState<number>(3600);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    onSilence(seconds);
  };
  return (
    <Dialog titleId={titleId} onClose={onClose}>
      <form className="dialog-form" onSubmit={submit} data-testid="silence-dialog">
        <h3 id={titleId}>Silence {name}</h3>
        <p className="muted">
          The rule is still judged and its changes kept in the history, but no desktop notification or webhook is sent while it is silenced,
          on any node.
        </p>
        <label className="block">
          For
          <select value={seconds} onChange={(e) => setSeconds(Number(e.target.value))}>
            {durations.map((d) => (
              <option key={d.seconds} value={d.seconds}>
                {d.label}
              </option>
            ))}
          </select>
        </label>
        <div className="modal-actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary">
            Silence
          </button>
        </div>
      </form>
    </Dialog>
  );
}

const stateTone: Record<string, string> = { firing: 'bad', pending: 'warn', resolved: 'ok', inactive: 'idle', 'no-data': 'warn' };

/** An alert state in words, coloured by how much it needs the operator. */
export function AlertState({ state }: { state: string }) {
  return <span className={`badge ${stateTone[state] ?? 'idle'}`}>{state === 'no-data' ? 'no data' : state}</span>;
}

/** Every state change on this node (of one rule, or of all), newest first, a page at a time (paged by id). */
export function AlertHistory({ rules }: { rules: readonly { id: string; name: string }[] }) {
  const client = useClient();
  const [ruleId, setRuleId] = useState('');
  const list = usePagedList<AlertEvent>(async (cursor, limit) => {
    const page = await client.call('monitoring.alerts.history', {
      limit,
      ...(ruleId === '' ? {} : { ruleId }),
      ...(cursor === undefined ? {} : { beforeId: Number(cursor) }),
    });
    const last = page.events.at(-1);
    return {
      items: page.events,
      // The history has no count of its own: say "more" while a page comes back full.
      total: Number.NaN,
      nextCursor: page.events.length === limit && last !== undefined ? String(last.id) : null,
    };
  }, ruleId);
  useThrottledReload(list.reload, ['monitoring.alert']);
  return (
    <Card title="History" wide>
      <label className="inline-form">
        Rule
        <select aria-label="Rule filter" value={ruleId} onChange={(e) => setRuleId(e.target.value)}>
          <option value="">every rule</option>
          {rules.map((r) => (
            <option key={r.id} value={r.id}>
              {r.name}
            </option>
          ))}
        </select>
      </label>
      <ErrorBanner error={list.error} />
      <DataTable
        testId="alert-history"
        rows={list.rows}
        rowKey={(e) => e.id}
        columns={[
          { header: 'When', cell: (e) => formatTime(e.at) },
          { header: 'Rule', cell: (e) => e.name, title: (e) => e.ruleId },
          { header: 'Severity', cell: (e) => <StatusBadge state={e.severity} /> },
          { header: 'State', cell: (e) => <AlertState state={e.state} /> },
          { header: 'What happened', cell: (e) => e.message },
        ]}
      />
      {list.hasMore && (
        <PageFooter
          testId="alert-history-more"
          shown={list.rows?.length ?? 0}
          total={list.rows?.length ?? 0}
          noun="changes loaded"
          hasMore={list.hasMore}
          loading={list.loading}
          onMore={list.loadMore}
        />
      )}
    </Card>
  );
}
