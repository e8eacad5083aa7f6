import { useEffect, useMemo, useState } from 'react';
import type { EventPayload } from '../../../contract/events';
import { useEvent, useOperation, useSession } from '../client/client-context';
import { DataTable } from '../components/data-table';
import { KeyName } from '../components/key-name';
import { BreakableName, Card, ErrorBanner, PageHeader, Stat, StatusBadge } from '../components/ui';
import { formatDuration, formatTime } from '../components/format';
import { healthSummary } from './health-summary';
import { LineChart, formatValue, type ChartSeries } from '../components/line-chart';
import { AlertRules, NotificationToggle, UsageCard, notify } from './overview-panels';

type Status = EventPayload<'system.status'>;

const RANGES = [
  { label: '5 min', ms: 5 * 60_000 },
  { label: '15 min', ms: 15 * 60_000 },
  { label: '1 h', ms: 3_600_000 },
  { label: '6 h', ms: 6 * 3_600_000 },
  { label: '24 h', ms: 24 * 3_600_000 },
  { label: '7 d', ms: 7 * 24 * 3_600_000 },
] as const;

/** Charts and the series each draws; a chart shows once any of its series is registered on the node. */
const CHARTS: readonly { title: string; series: readonly [name: string, label: string][] }[] = [
  { title: 'Request rate', series: [['http.requests_per_second', 'requests']] },
  {
    title: 'Latency',
    series: [
      ['http.latency_p50_ms', 'p50'],
      ['http.latency_p95_ms', 'p95'],
    ],
  },
  {
    title: 'WebSocket connections',
    series: [
      ['ws.connections', 'console'],
      ['realtime.connections', 'hub'],
    ],
  },
  { title: 'WebSocket messages', series: [['realtime.messages_per_second', 'messages']] },
  { title: 'Cache hit ratio', series: [['cache.hit_ratio', 'hits']] },
  {
    title: 'Job throughput',
    series: [
      ['jobs.completed_per_second', 'completed'],
      ['jobs.failed_per_second', 'failed'],
      ['jobs.backlog', 'waiting'],
    ],
  },
  { title: 'Event-loop delay', series: [['system.eventloop_delay_p99_ms', 'p99']] },
  {
    title: 'Memory',
    series: [
      ['system.rss_bytes', 'RSS'],
      ['system.heap_used_bytes', 'heap'],
    ],
  },
  { title: 'CPU', series: [['system.cpu_percent', 'process']] },
];

function since(iso: string, now: number): string {
  const t = Date.parse(iso);
  return `${new Date(t).toLocaleTimeString(undefined, { hour12: false })} (${formatDuration(Math.max(0, (now - t) / 1000))} ago)`;
}

export function OverviewView() {
  const { role, client } = useSession();
  const initial = useOperation('system.status', {});
  // Registry instances by health, for the summary: a critical instance is not "all well".
  const registry = useOperation('services.summary', {}, { intervalMs: 10_000 });
  const [status, setStatus] = useState<Status | undefined>();
  const [now, setNow] = useState(() => Date.now());
  const [rangeMs, setRangeMs] = useState<number>(RANGES[1].ms);
  // The end of the chart range moves with each sample the server publishes, so the query stays
  // still between samples instead of changing on every render.
  const [anchor, setAnchor] = useState(() => Date.now());
  const overview = useOperation(
    'monitoring.overview',
    {},
    { refreshOn: ['monitoring.sample', 'monitoring.alert', 'monitoring.dependency'] },
  );
  // Capabilities register series when they start; once a minute is often enough to pick them up.
  const registered = useOperation('monitoring.series', {}, { intervalMs: 60_000 });

  useEffect(() => {
    if (initial.data !== undefined) setStatus(initial.data);
  }, [initial.data]);
  useEvent('system.status', setStatus);
  useEvent('monitoring.sample', (sample) => setAnchor(Date.parse(sample.at)));
  // Inside Electron the main process shows a native notification; a browser console shows its own.
  useEvent('monitoring.alert', (alert) => client.transport === 'http' && notify(alert));
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);

  const known = useMemo(() => new Set((registered.data?.series ?? []).map((s) => s.name)), [registered.data]);
  const units = useMemo(() => new Map((registered.data?.series ?? []).map((s) => [s.name, s.unit])), [registered.data]);
  const charts = CHARTS.map((c) => ({ ...c, series: c.series.filter(([name]) => known.has(name)) })).filter((c) => c.series.length > 0);
  const wanted = charts.flatMap((c) => c.series.map(([name]) => name)).slice(0, 20);
  const history = useOperation('monitoring.history', {
    series: wanted.length > 0 ? wanted : ['system.rss_bytes'],
    from: anchor - rangeMs,
    to: anchor + 1,
  });

  const uptime = status === undefined ? 0 : Math.max(0, (now - Date.parse(status.startedAt)) / 1000);
  const unhealthy = status?.services.filter((s) => s.state !== 'running') ?? [];
  const data = overview.data;
  const firing = data?.alerts.filter((a) => a.state === 'firing') ?? [];
  const pending = data?.alerts.filter((a) => a.state === 'pending') ?? [];
  const latest = data?.latest?.values ?? {};
  const value = (name: string) => {
    const v = latest[name];
    return v === undefined || v === null ? '—' : formatValue(v, units.get(name) ?? '');
  };
  const instances = registry.data?.services.reduce(
    (sum, s) => ({
      passing: sum.passing + s.counts.passing,
      warning: sum.warning + s.counts.warning,
      critical: sum.critical + s.counts.critical,
    }),
    { passing: 0, warning: 0, critical: 0 },
  );
  const summary = healthSummary({
    dependencies: data?.status,
    dependencyList: data?.dependencies ?? [],
    firingAlerts: firing,
    services: status?.services ?? [],
    instances,
    failures: [overview.error, registry.error].flatMap((e) => (e === null ? [] : [e.code])),
  });
  const redisDependency = data?.dependencies.find((d) => d.name === 'redis');
  const redisUp = redisDependency === undefined ? status?.redis.connected === true : redisDependency.status !== 'down';
  const pointsOf = new Map((history.data?.series ?? []).map((s) => [s.name, s.points]));

  return (
    <>
      <PageHeader
        title="Overview"
        subtitle="Is everything well, and if not, what and since when."
        actions={
          <a href="#/graphql" data-testid="graphql-link">
            GraphQL explorer
          </a>
        }
      />
      <ErrorBanner error={initial.error ?? overview.error ?? registry.error ?? history.error} />
      {summary.health !== 'ok' && summary.reasons.length > 0 && (
        <p className="muted small" data-testid="health-reasons">
          Health is {summary.health}: {summary.reasons.join('; ')}.
        </p>
      )}

      {firing.length > 0 && (
        <section className="alerts-firing" role="alert" data-testid="alerts-firing">
          {firing.map((a) => (
            <div key={a.ruleId} className={`alert-item ${a.severity}`}>
              <StatusBadge state={a.severity} />
              <strong>{a.name}</strong>
              <span>{a.message}</span>
              <span className="muted small">firing since {since(a.since, now)}</span>
              {a.acknowledgedBy != null && (
                <span className="muted small" data-testid="alert-acknowledged">
                  acknowledged by <KeyName id={a.acknowledgedBy} />
                </span>
              )}
              {a.silencedUntil != null && <span className="muted small">silenced until {formatTime(a.silencedUntil)}</span>}
            </div>
          ))}
        </section>
      )}
      {pending.length > 0 && (
        <div className="notice" data-testid="alerts-pending">
          {pending.map((a) => (
            <div key={a.ruleId}>
              <span className="badge warn">pending</span> <strong>{a.name}</strong> since {since(a.since, now)}: {a.message}
            </div>
          ))}
        </div>
      )}

      <div className="stats">
        <div data-testid="health-summary" title={summary.reasons.join('\n') || undefined}>
          <Stat
            label="Health"
            value={summary.health === 'ok' ? 'all well' : summary.health}
            tone={
              summary.health === 'ok' ? 'ok' : summary.health === 'unknown' ? undefined : summary.health === 'degraded' ? 'warn' : 'bad'
            }
          />
        </div>
        <Stat
          label="Alerts firing"
          value={overview.error !== null ? '—' : firing.length}
          tone={overview.error !== null ? undefined : firing.length === 0 ? 'ok' : 'bad'}
        />
        {status !== undefined && (
          <Stat
            label="Pilothouse services"
            value={`${status.services.length - unhealthy.length}/${status.services.length} running`}
            tone={unhealthy.length === 0 ? 'ok' : 'warn'}
          />
        )}
        {instances !== undefined && instances.passing + instances.warning + instances.critical > 0 && (
          <Stat
            label="Service instances"
            value={`${instances.passing} passing${instances.critical > 0 ? ` · ${instances.critical} critical` : ''}${instances.warning > 0 ? ` · ${instances.warning} warning` : ''}`}
            tone={instances.critical > 0 ? 'bad' : instances.warning > 0 ? 'warn' : 'ok'}
          />
        )}
        <Stat label="Requests" value={value('http.requests_per_second')} />
        <Stat label="Latency p95" value={value('http.latency_p95_ms')} />
        <Stat label="Event-loop delay p99" value={value('system.eventloop_delay_p99_ms')} />
        <Stat label="Memory (RSS)" value={value('system.rss_bytes')} />
        {status !== undefined && (
          // The dependency probe (every 5 s, pushed on change) is fresher than the status broadcast.
          <Stat
            label="Redis"
            value={!status.redis.configured ? 'not configured' : redisUp ? 'connected' : 'disconnected'}
            tone={!status.redis.configured ? undefined : redisUp ? 'ok' : 'bad'}
          />
        )}
        <Stat label="Uptime" value={formatDuration(uptime)} />
        {status !== undefined && <Stat label="Transport" value={status.tls.enabled ? 'HTTPS / WSS' : 'plain HTTP'} />}
      </div>
      {status?.tls.fingerprint256 != null && (
        // Shown so the operator can compare it with what the browser (or a pinning client) sees.
        <p className="muted small" data-testid="tls-fingerprint">
          {status.tls.selfSigned ? 'Self-signed certificate' : 'Certificate'}, SHA-256 fingerprint{' '}
          <span className="mono">{status.tls.fingerprint256}</span>
        </p>
      )}

      {data !== undefined && (
        <Card title="Dependencies">
          <DataTable
            testId="dependencies-table"
            rows={data.dependencies}
            rowKey={(d) => d.name}
            rowTestId={(d) => `dependency-${d.name}`}
            columns={[
              {
                header: 'Dependency',
                className: 'mono',
                cell: (d) => (
                  <>
                    {d.name}
                    {d.critical && <span className="muted small"> · critical</span>}
                  </>
                ),
              },
              {
                header: 'Status',
                cell: (d) => (
                  <span
                    className={`badge ${d.status === 'up' ? 'ok' : d.status === 'down' ? 'bad' : d.status === 'degraded' ? 'warn' : 'idle'}`}
                  >
                    {d.status}
                  </span>
                ),
              },
              { header: 'Detail', className: 'muted', cell: (d) => d.detail },
              { header: 'Since', className: 'muted small', cell: (d) => since(d.since, now) },
            ]}
          />
        </Card>
      )}

      <Card title="Charts">
        <div className="range-picker" role="group" aria-label="Range">
          {RANGES.map((r) => (
            <button
              key={r.label}
              className={r.ms === rangeMs ? 'primary' : undefined}
              aria-pressed={r.ms === rangeMs}
              onClick={() => setRangeMs(r.ms)}
            >
              {r.label}
            </button>
          ))}
          <span className="muted small">
            {history.data === undefined
              ? ''
              : `one point per ${formatDuration(history.data.stepSeconds)} · from ${history.data.resolutionSeconds === 10 ? 'raw samples' : history.data.resolutionSeconds === 60 ? '1-minute roll-ups' : '1-hour roll-ups'}`}
          </span>
        </div>
        <div className="charts">
          {charts.map((c) => (
            <LineChart
              key={c.title}
              title={c.title}
              from={anchor - rangeMs}
              to={anchor}
              stepMs={(history.data?.stepSeconds ?? 10) * 1000}
              series={c.series.map(([name, label]): ChartSeries => ({
                name,
                label,
                unit: units.get(name) ?? '',
                points: pointsOf.get(name) ?? [],
              }))}
            />
          ))}
        </div>
      </Card>

      {data !== undefined && (
        <div className="two-col">
          <Card title="Advice">
            <ul className="advice" data-testid="recommendations">
              {data.recommendations.map((r) => (
                <li key={r}>{r}</li>
              ))}
            </ul>
          </Card>
          <Card title="Slowest operations (last 5 min)">
            {data.slowest.length === 0 ? (
              <p className="muted">No calls yet.</p>
            ) : (
              <DataTable
                testId="slowest-table"
                rows={data.slowest}
                rowKey={(s) => s.name}
                columns={[
                  { header: 'Operation or route', className: 'mono', cell: (s) => <BreakableName name={s.name} /> },
                  { header: 'Calls', className: 'right', cell: (s) => s.count },
                  { header: 'p50', className: 'right', cell: (s) => formatValue(s.p50Ms, 'ms') },
                  { header: 'p99', className: 'right', cell: (s) => formatValue(s.p99Ms, 'ms') },
                  { header: 'Errors', className: 'right', cell: (s) => s.errors },
                ]}
              />
            )}
            {data.slowLog.length > 0 && (
              <>
                <h2 className="spaced">Recent slow calls</h2>
                <ul className="slow-log" data-testid="slow-log">
                  {data.slowLog.slice(0, 5).map((c, i) => (
                    <li key={`${c.at}-${i}`}>
                      <span className="mono">{c.name}</span> took <strong>{formatValue(c.durationMs, 'ms')}</strong> (threshold{' '}
                      {formatValue(c.thresholdMs, 'ms')}){!c.ok && <span className="badge bad">{c.code ?? 'error'}</span>}{' '}
                      <span className="muted small">{new Date(c.at).toLocaleTimeString(undefined, { hour12: false })}</span>
                    </li>
                  ))}
                </ul>
              </>
            )}
          </Card>
        </div>
      )}

      {status !== undefined && (
        <Card title="Services">
          <DataTable
            testId="services-table"
            rows={status.services}
            rowKey={(service) => service.name}
            columns={[
              { header: 'Service', className: 'mono', cell: (service) => service.name },
              { header: 'State', cell: (service) => <StatusBadge state={service.state} /> },
              { header: 'Detail', className: 'muted', cell: (service) => service.detail ?? '' },
            ]}
          />
        </Card>
      )}

      {role !== 'viewer' && <UsageCard />}

      <AlertRules editable={role === 'admin'} />

      {status !== undefined && (
        <p className="muted small">
          Running {status.mode}, version {status.version}, started {formatTime(status.startedAt)}.
          <NotificationToggle />
        </p>
      )}
    </>
  );
}
