import { useState } from 'react';
import type { OperationResult } from '../../../contract/operations';
import { useAction, useOperation } from '../client/client-context';
import { DataTable } from '../components/data-table';
import { Card, EmptyState, ErrorBanner, PageHeader, StatusBadge } from '../components/ui';
import { formatTime } from '../components/format';

type Saga = OperationResult<'sagas.get'>['saga'];
type Step = Saga['steps'][number];

/** One step on the timeline: its state, its tries (action and compensation) and every error it met. */
function StepRow({ step, index }: { step: Step; index: number }) {
  return (
    <li className="saga-step" data-testid={`saga-step-${step.name}`}>
      <div>
        <span className="muted">{index + 1}.</span> <strong className="mono">{step.name}</strong> <StatusBadge state={step.state} />
      </div>
      <div className="small muted">
        {step.attempts} {step.attempts === 1 ? 'try' : 'tries'}
        {step.compensationAttempts > 0 &&
          ` · ${step.compensationAttempts} compensation ${step.compensationAttempts === 1 ? 'try' : 'tries'}`}
        {step.startedAt !== null && ` · started ${formatTime(step.startedAt)}`}
        {step.finishedAt !== null && ` · finished ${formatTime(step.finishedAt)}`}
        {step.compensatedAt !== null && ` · compensated ${formatTime(step.compensatedAt)}`}
      </div>
      {step.errors.length > 0 && (
        <ul className="small">
          {step.errors.map((e, i) => (
            <li key={i} className="bad">
              {formatTime(e.at)} {e.phase}: {e.message}
            </li>
          ))}
        </ul>
      )}
    </li>
  );
}

function SagaDetail({ id }: { id: string }) {
  const saga = useOperation('sagas.get', { id }, { deps: [id], refreshOn: ['sagas.changed'] });
  const cancel = useAction('sagas.cancel');
  const s = saga.data?.saga;
  return (
    <Card title={s === undefined ? 'Saga' : `${s.type} · ${s.id}`}>
      <ErrorBanner error={saga.error ?? cancel.error} onDismiss={cancel.clearError} />
      {s !== undefined && (
        <div data-testid="saga-detail">
          <p>
            <StatusBadge state={s.state} />
            {s.failure !== null && <span className="muted"> {s.failure}</span>}
            {s.state === 'running' && (
              <button disabled={cancel.pending || s.cancelRequested} onClick={() => void cancel.run({ id: s.id }).then(saga.reload)}>
                {s.cancelRequested ? 'Cancelling…' : 'Cancel'}
              </button>
            )}
          </p>
          <ol className="saga-timeline" aria-label="Steps">
            {s.steps.map((step, i) => (
              <StepRow key={step.name} step={step} index={i} />
            ))}
          </ol>
        </div>
      )}
    </Card>
  );
}

export function SagasView() {
  const list = useOperation('sagas.list', { limit: 50 }, { refreshOn: ['sagas.changed'] });
  const [selected, setSelected] = useState<string | null>(null);
  const sagas = list.data?.sagas ?? [];
  return (
    <>
      <PageHeader
        title="Sagas"
        subtitle="Multi-step changes that undo what they did when a step fails: each step's state, tries and errors."
      />
      <ErrorBanner error={list.error} />
      <Card>
        {sagas.length === 0 && !list.loading ? (
          <EmptyState title="No sagas yet">
            Start one with <span className="mono">sagas.start</span> (
            {(list.data?.types ?? []).map((t) => t.type).join(', ') || 'no types registered'}).
          </EmptyState>
        ) : (
          <DataTable
            testId="sagas-table"
            rows={sagas}
            rowKey={(saga) => saga.id}
            rowTestId={(saga) => `saga-${saga.id}`}
            rowClassName={(saga) => (saga.id === selected ? 'selected' : undefined)}
            columns={[
              {
                header: 'Saga',
                className: 'mono',
                title: (saga) => saga.id,
                cell: (saga) => (
                  <button className="link" onClick={() => setSelected(saga.id)}>
                    {saga.id.slice(-8)}
                  </button>
                ),
              },
              { header: 'Type', className: 'mono', cell: (saga) => saga.type },
              { header: 'State', cell: (saga) => <StatusBadge state={saga.state} /> },
              {
                header: 'Steps',
                cell: (saga) =>
                  `${saga.steps.filter((st) => st.state === 'done' || st.state === 'compensated').length} of ${saga.steps.length}`,
              },
              { header: 'Started', cell: (saga) => formatTime(saga.createdAt) },
              { header: 'Updated', cell: (saga) => formatTime(saga.updatedAt) },
            ]}
          />
        )}
      </Card>
      {selected !== null && <SagaDetail id={selected} />}
    </>
  );
}
