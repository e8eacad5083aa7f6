/** The Services view's smaller pieces: the health bar, traffic cells and chart, an instance's checks. */
import type { OperationResult } from '../../../contract/operations';
import { useOperation } from '../client/client-context';
import { Card, ErrorBanner, StatusBadge } from '../components/ui';
import { formatTime } from '../components/format';

type Instance = OperationResult<'services.list'>['instances'][number];
type Summary = OperationResult<'services.summary'>['services'][number];
type Traffic = OperationResult<'services.traffic'>['instances'][number];
type HealthState = Instance['state'];

export const healthColors: Record<HealthState, string> = {
  passing: 'var(--ok)',
  warning: 'var(--warn)',
  critical: 'var(--bad)',
  maintenance: 'var(--idle)',
};
export const healthOrder: readonly HealthState[] = ['passing', 'warning', 'critical', 'maintenance'];

/** A stacked bar of a service's instances by health, with the counts written out beside it. */
export function HealthBar({ counts, total }: { counts: Summary['counts']; total: number }) {
  const width = 160;
  let x = 0;
  return (
    <div style={{ display: 'flex', alignItems: 'center', gap: 10 }}>
      <svg
        width={width}
        height={12}
        role="img"
        aria-label={`${total} instances by health`}
        style={{ background: 'var(--panel-2)', borderRadius: 3 }}
      >
        {healthOrder.map((h) => {
          const w = total === 0 ? 0 : (counts[h] / total) * width;
          const rect = <rect key={h} x={x} y={0} width={w} height={12} fill={healthColors[h]} />;
          x += w;
          return rect;
        })}
      </svg>
      <span className="small" data-testid="health-counts">
        {healthOrder
          .filter((h) => counts[h] > 0)
          .map((h) => `${counts[h]} ${h}`)
          .join(' · ') || 'no instances'}{' '}
        <span className="muted">of {total}</span>
      </span>
    </div>
  );
}

export function TrafficCell({ traffic }: { traffic: Traffic | undefined }) {
  if (traffic === undefined || traffic.requests === 0) return <span className="muted small">none</span>;
  return (
    <div className="small">
      {traffic.requests} req · {traffic.errors} err · p99 {traffic.p99Ms.toFixed(1)} ms
      {traffic.ejected && (
        <div>
          <StatusBadge state="critical" /> ejected until {formatTime(traffic.ejectedUntil)}
        </div>
      )}
    </div>
  );
}

/** Requests and errors per instance through the gateway, as horizontal bars. */
export function TrafficChart({ rows }: { rows: Traffic[] }) {
  if (rows.length === 0) return null;
  const max = Math.max(...rows.map((r) => r.requests));
  const barWidth = 420;
  return (
    <Card title="Gateway traffic per instance">
      <svg width={barWidth + 260} height={rows.length * 24 + 8} role="img" aria-label="Requests and errors per instance">
        {rows.map((r, n) => {
          const y = n * 24 + 4;
          const w = (r.requests / max) * barWidth;
          const e = (r.errors / max) * barWidth;
          return (
            <g key={r.id}>
              <text x={0} y={y + 13} fill="var(--muted)" fontSize={12}>
                {r.id.length > 28 ? `${r.id.slice(0, 27)}…` : r.id}
              </text>
              <rect x={200} y={y} width={Math.max(w, 1)} height={16} fill="var(--accent)" opacity={0.7} />
              <rect x={200} y={y} width={e} height={16} fill="var(--bad)" />
              <text x={206 + w} y={y + 13} fill="var(--text)" fontSize={12}>
                {r.requests} ({r.errors} err){r.ejected ? ' · ejected' : ''}
              </text>
            </g>
          );
        })}
      </svg>
    </Card>
  );
}

/** Every check of one instance: what it probes, its status, last output and status history. */
export function InstanceDetail({ id }: { id: string }) {
  const detail = useOperation('services.get', { id }, { refreshOn: ['service.health'] });
  if (detail.error !== null) return <ErrorBanner error={detail.error} />;
  const instance = detail.data?.instance;
  if (instance === undefined) return <span className="muted">Loading…</span>;
  return (
    <div data-testid={`instance-detail-${id}`} style={{ display: 'grid', gap: 12 }}>
      <div className="small muted">
        Registered {formatTime(instance.registeredAt)} · last heartbeat {formatTime(instance.lastHeartbeatAt)} · weight {instance.weight}
        {instance.tags.length > 0 && ` · tags ${instance.tags.join(', ')}`}
      </div>
      {instance.checks.map((c) => (
        <div key={c.id} style={{ borderLeft: `3px solid ${healthColors[c.status]}`, paddingLeft: 10 }}>
          <div>
            <StatusBadge state={c.status} /> <strong className="mono">{c.id}</strong>{' '}
            <span className="muted small">
              {c.target} · every {c.intervalMs} ms · checked {formatTime(c.checkedAt)}
            </span>
          </div>
          <pre className="mono small" style={{ whiteSpace: 'pre-wrap', margin: '6px 0', maxHeight: 120, overflow: 'auto' }}>
            {c.output}
          </pre>
          {c.criticalSince !== null && c.deregisterAfterMs !== null && (
            <div className="small muted">
              Critical since {formatTime(c.criticalSince)}; deregistered after {Math.round(c.deregisterAfterMs / 1000)} s critical.
            </div>
          )}
          {(c.history ?? []).length > 0 && (
            <div className="small muted">
              History:{' '}
              {(c.history ?? []).map((h, n) => (
                <span key={n} title={h.output} style={{ color: healthColors[h.status], marginRight: 8 }}>
                  {h.status} {new Date(h.at).toLocaleTimeString()}
                </span>
              ))}
            </div>
          )}
        </div>
      ))}
    </div>
  );
}
