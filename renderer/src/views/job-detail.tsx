/**
 * One job in a dialog, as Bull Board shows it: payload and result, every failed attempt with its
 * error (and, for operators, its stack), the log, progress over time, children, and promote for a
 * delayed job.
 */
import { useId, useState } from 'react';
import type { OperationResult } from '../../../contract/operations';
import { useAction, useOperation, useSession } from '../client/client-context';
import { Dialog } from '../components/dialog';
import { JsonTree } from '../components/json-tree';
import { KeyName } from '../components/key-name';
import { ErrorBanner } from '../components/ui';
import { formatTime } from '../components/format';
import { LineChart } from '../components/line-chart';
import { StateBadge, useThrottledReload } from './jobs-parts';

type Point = OperationResult<'jobs.get'>['timeline'][number];

/** Progress over time as a line, 0 to 100 %, from the first point to the last. */
function Timeline({ points }: { points: readonly Point[] }) {
  if (points.length === 0) return <div className="muted small">No progress reported.</div>;
  const chartPoints = points.map((p) => ({ t: Date.parse(p.at), avg: p.progress }));
  const from = (chartPoints[0] as { t: number }).t;
  const to = Math.max(from + 1000, (chartPoints.at(-1) as { t: number }).t);
  return (
    <div data-testid="job-timeline">
      <LineChart
        title="Progress"
        series={[{ name: 'job.progress', label: 'done', unit: 'ratio', points: chartPoints }]}
        from={from}
        to={to}
        // Reports come when the job makes them: a pause is a flat stretch, not a gap.
        stepMs={to - from}
        width={640}
      />
      <ol className="small mono" style={{ margin: 0, maxHeight: 140, overflow: 'auto' }}>
        {points.map((p, i) => (
          <li key={i}>
            <span className="muted">{new Date(p.at).toLocaleTimeString()}</span> {Math.round(p.progress * 100)} %
            {p.message !== null ? ` · ${p.message}` : ''}
          </li>
        ))}
      </ol>
    </div>
  );
}

/** Each failed attempt: operators get the stack under its error; viewers get the errors the job keeps. */
function Attempts({ id, errors, operator }: { id: string; errors: readonly string[]; operator: boolean }) {
  const attempts = useOperation('jobs.attempts', { id }, { enabled: operator });
  // A busy queue changes jobs many times a second: read again at most once a second while open.
  useThrottledReload(attempts.reload, ['jobs.changed'], 1000);
  if (!operator) {
    return errors.length === 0 ? null : (
      <ul className="mono" style={{ margin: 0 }}>
        {errors.map((e, i) => (
          <li key={i}>{e}</li>
        ))}
      </ul>
    );
  }
  const list = attempts.data?.attempts ?? [];
  return (
    <>
      <ErrorBanner error={attempts.error} />
      {list.length === 0 ? (
        <div className="muted small">No attempt has failed.</div>
      ) : (
        <ol style={{ margin: 0, paddingLeft: 20 }} data-testid="job-attempts">
          {list.map((a, i) => (
            <li key={i}>
              <strong>attempt {a.attempt}</strong>
              {a.at !== null && <span className="muted small"> · {formatTime(a.at)}</span>}
              <div className="mono wrap-anywhere">{a.error}</div>
              {a.stack !== null && (
                <details>
                  <summary className="small">Stack</summary>
                  <pre className="stack secret mono">{a.stack}</pre>
                </details>
              )}
            </li>
          ))}
        </ol>
      )}
    </>
  );
}

export function JobDetail({ id, onClose }: { id: string; onClose: () => void }) {
  const titleId = useId();
  const { role } = useSession();
  const operator = role !== 'viewer';
  const detail = useOperation('jobs.get', { id });
  useThrottledReload(detail.reload, ['jobs.changed', 'jobs.progress'], 1000);
  const promote = useAction('jobs.promote');
  const [asking, setAsking] = useState(false);
  const job = detail.data?.job;
  const runNow = async () => {
    setAsking(false);
    if ((await promote.run({ id })) !== undefined) detail.reload();
  };

  return (
    <Dialog titleId={titleId} onClose={onClose}>
      <div className="job-detail" data-testid="job-detail">
        <div style={{ display: 'flex', gap: 8, alignItems: 'baseline', flexWrap: 'wrap' }}>
          <h3 id={titleId} style={{ margin: 0 }}>
            Job <span className="mono">{id}</span>
          </h3>
          <span style={{ flex: 1 }} />
          <button onClick={onClose}>Close</button>
        </div>
        <ErrorBanner error={detail.error ?? promote.error} onDismiss={promote.clearError} />
        {job !== undefined && (
          <>
            <div>
              <StateBadge state={job.state} /> <strong className="mono">{job.type}</strong> · attempt {job.attemptsMade} of{' '}
              {job.maxAttempts} · priority {job.priority}
              {job.repeatCron !== null && (
                <>
                  {' '}
                  · repeats <code>{job.repeatCron}</code>
                </>
              )}
              {job.parentId !== null && <> · parent {job.parentId}</>}
            </div>
            <div className="small muted">
              created {formatTime(job.createdAt)}
              {job.createdBy !== null && (
                <>
                  {' '}
                  by <KeyName id={job.createdBy} />
                </>
              )}{' '}
              · runs at {formatTime(job.runAt)} · started {formatTime(job.startedAt)} · finished {formatTime(job.finishedAt)}
            </div>
            {operator && job.state === 'delayed' && (
              <div className="inline-form" data-testid="job-promote">
                {asking ? (
                  <>
                    <span>Run this job now instead of at {formatTime(job.runAt)}?</span>
                    <button onClick={() => setAsking(false)}>Keep the delay</button>
                    <button className="primary" disabled={promote.pending} onClick={() => void runNow()}>
                      Run now
                    </button>
                  </>
                ) : (
                  <button className="primary" onClick={() => setAsking(true)}>
                    Promote
                  </button>
                )}
              </div>
            )}
            <h4 style={{ margin: 0 }}>Payload</h4>
            <JsonTree value={job.payload} label="Payload" />
            {job.result !== null && (
              <>
                <h4 style={{ margin: 0 }}>Result</h4>
                <JsonTree value={job.result} label="Result" />
              </>
            )}
            <h4 style={{ margin: 0 }}>Attempts</h4>
            <Attempts id={id} errors={job.errors} operator={operator} />
            <h4 style={{ margin: 0 }}>Progress</h4>
            <Timeline points={detail.data?.timeline ?? []} />
            {(detail.data?.logs.length ?? 0) > 0 && (
              <>
                <h4 style={{ margin: 0 }}>Log</h4>
                <ul className="mono small" style={{ margin: 0 }} data-testid="job-log">
                  {detail.data?.logs.map((l, i) => (
                    <li key={i}>
                      <span className="muted">{new Date(l.at).toLocaleTimeString()}</span> {l.message}
                    </li>
                  ))}
                </ul>
              </>
            )}
            {(detail.data?.children.length ?? 0) > 0 && (
              <>
                <h4 style={{ margin: 0 }}>Children</h4>
                <table className="table">
                  <thead>
                    <tr>
                      <th scope="col">Id</th>
                      <th scope="col">Type</th>
                      <th scope="col">State</th>
                      <th scope="col">Policy</th>
                      <th scope="col">Last error</th>
                    </tr>
                  </thead>
                  <tbody>
                    {detail.data?.children.map((c) => (
                      <tr key={c.id}>
                        <td className="mono">{c.id}</td>
                        <td>{c.type}</td>
                        <td>
                          <StateBadge state={c.state} />
                        </td>
                        <td>{c.childPolicy}</td>
                        <td className="muted wrap-anywhere">{c.lastError ?? ''}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </>
            )}
          </>
        )}
      </div>
    </Dialog>
  );
}
