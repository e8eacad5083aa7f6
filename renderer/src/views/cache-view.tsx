import { useState } from 'react';
import type { OperationResult } from '../../../contract/operations';
import { useEvent, useOperation, useSession } from '../client/client-context';
import { DataTable } from '../components/data-table';
import { countOf } from '../components/format';
import { Card, EmptyState, ErrorBanner, PageHeader, Stat } from '../components/ui';
import { LineChart, formatValue, type ChartSeries } from '../components/line-chart';
import { CacheActions, KeyBrowser } from './cache-actions';

type Stats = OperationResult<'cache.stats'>;
type NamespaceStats = Stats['namespaces'][number];

const REDIS_TONE: Record<string, 'ok' | 'warn' | 'bad' | undefined> = { up: 'ok', 'breaker-open': 'bad', down: 'bad', connecting: 'warn' };
const REDIS_WORDS: Record<string, string> = {
  up: 'up',
  'breaker-open': 'breaker open',
  down: 'down',
  connecting: 'connecting',
  'not-configured': 'not configured',
  stopped: 'stopped',
};

function ratio(value: number | null): string {
  return value === null ? '—' : formatValue(value, 'ratio');
}

function requests(c: NamespaceStats['counters']): number {
  return c.l1Hits + c.l2Hits + c.l3Hits + c.misses + c.staleServes;
}

/** The Cache view: live hit ratios per tier and namespace, latency, Redis state, top keys, advice, and actions. */
export function CacheView() {
  const { role } = useSession();
  const stats = useOperation('cache.stats', {}, { intervalMs: 2000, refreshOn: ['cache.invalidated', 'cache.redis'] });
  const [live, setLive] = useState<Stats | undefined>();
  // Bumped by the view's own cache actions, so the key browser reads its list again.
  const [keysChanged, setKeysChanged] = useState(0);
  useEvent('cache.stats', (payload) => setLive(payload));
  // The operation answers with L3's size and largest rows; the periodic event is lighter. Use the newer.
  const data =
    live !== undefined && stats.data !== undefined && Date.parse(live.at) > Date.parse(stats.data.at)
      ? { ...live, l3: stats.data.l3, largest: stats.data.largest, hottest: stats.data.hottest, keysHidden: stats.data.keysHidden }
      : stats.data;
  const operator = role !== 'viewer';

  if (data === undefined) {
    return (
      <>
        <PageHeader title="Cache" />
        <ErrorBanner error={stats.error} />
        {stats.error === null && <p className="muted">Loading…</p>}
      </>
    );
  }

  const t = data.totals.counters;
  const total = requests(t);
  const history = data.history.map((h) => ({ ...h, t: Date.parse(h.at) }));
  const to = history.at(-1)?.t ?? Date.parse(data.at);
  const from = Math.min(history[0]?.t ?? to - 60_000, to - 60_000);
  const step = history.length > 1 ? (history.at(-1)!.t - history[0]!.t) / (history.length - 1) : 2000;
  const busiest = [...data.namespaces].sort((a, b) => requests(b.counters) - requests(a.counters)).slice(0, 4);
  const ratioSeries: ChartSeries[] = [
    {
      name: 'cache.hit_ratio',
      label: 'all',
      unit: 'ratio',
      points: history.filter((h) => h.hitRatio !== null).map((h) => ({ t: h.t, avg: h.hitRatio as number })),
    },
    ...busiest.map((ns) => ({
      name: `cache.ns.${ns.name}`,
      label: ns.name,
      unit: 'ratio',
      points: history.flatMap((h) => {
        const v = h.namespaces[ns.name];
        return v === undefined || v === null ? [] : [{ t: h.t, avg: v }];
      }),
    })),
  ];
  const perSecond = (pick: (h: (typeof history)[number]) => number) => history.map((h) => ({ t: h.t, avg: pick(h) / (step / 1000) }));
  const tierSeries: ChartSeries[] = [
    { name: 'cache.l1_per_second', label: 'L1 hits', unit: '/s', points: perSecond((h) => h.l1Hits) },
    { name: 'cache.l2_per_second', label: 'L2 hits', unit: '/s', points: perSecond((h) => h.l2Hits) },
    { name: 'cache.l3_per_second', label: 'L3 hits', unit: '/s', points: perSecond((h) => h.l3Hits) },
    { name: 'cache.miss_per_second', label: 'misses', unit: '/s', points: perSecond((h) => h.misses + h.staleServes) },
  ];

  return (
    <>
      <PageHeader
        title="Cache"
        subtitle="Memory (L1) → Redis (L2) → SQLite (L3) → loader. Numbers since this node started; charts update live."
      />
      <ErrorBanner error={stats.error} />

      <div className="stats" data-testid="cache-stats">
        <Stat
          label="Hit ratio"
          value={ratio(data.totals.hitRatio)}
          tone={
            data.totals.hitRatio === null ? undefined : data.totals.hitRatio >= 0.8 ? 'ok' : data.totals.hitRatio >= 0.5 ? 'warn' : 'bad'
          }
        />
        <Stat label="Reads" value={total.toLocaleString()} />
        <Stat
          label="L1 / L2 / L3 hits"
          value={`${t.l1Hits.toLocaleString()} / ${t.l2Hits.toLocaleString()} / ${t.l3Hits.toLocaleString()}`}
        />
        <Stat label="Misses" value={t.misses.toLocaleString()} />
        <Stat label="Stale served" value={t.staleServes.toLocaleString()} tone={t.staleServes > 0 ? 'warn' : undefined} />
        <Stat
          label="Loader calls (errors)"
          value={`${t.loaderCalls.toLocaleString()} (${t.loaderErrors + t.loaderTimeouts})`}
          tone={t.loaderErrors + t.loaderTimeouts > 0 ? 'warn' : undefined}
        />
        <Stat label="Redis" value={REDIS_WORDS[data.redis.state] ?? data.redis.state} tone={REDIS_TONE[data.redis.state]} />
        <Stat
          label="L3 (SQLite)"
          value={data.l3.enabled ? `${data.l3.entries.toLocaleString()} · ${formatValue(data.l3.bytes, 'bytes')}` : 'off'}
        />
      </div>

      {data.redis.state !== 'up' && data.redis.state !== 'not-configured' && (
        <div className="notice" role="status" data-testid="redis-notice">
          <span>
            Redis is <strong>{REDIS_WORDS[data.redis.state]}</strong>: reads are answered from L1 and L3 (stale values within grace), and{' '}
            {countOf(data.redis.outbox, 'change')} wait to be sent to the other nodes. The breaker has opened{' '}
            {countOf(data.redis.breakerOpens, 'time')}.
          </span>
        </div>
      )}

      <Card title="Live">
        <div className="charts">
          <LineChart title="Hit ratio" series={ratioSeries} from={from} to={to} stepMs={step} />
          <LineChart title="Reads by tier" series={tierSeries} from={from} to={to} stepMs={step} />
        </div>
      </Card>

      <Card title="Namespaces">
        {data.namespaces.length === 0 ? (
          <p className="muted">No namespace has been used on this node yet.</p>
        ) : (
          <DataTable
            testId="namespaces-table"
            rows={data.namespaces}
            rowKey={(ns) => ns.name}
            rowTestId={(ns) => `namespace-${ns.name}`}
            columns={[
              { header: 'Namespace', className: 'mono', cell: (ns) => ns.name },
              { header: 'Reads', className: 'right', cell: (ns) => requests(ns.counters).toLocaleString() },
              { header: 'Hit ratio', className: 'right', cell: (ns) => ratio(ns.hitRatio) },
              {
                header: 'L1 entries',
                className: 'right',
                cell: (ns) => `${ns.l1Entries.toLocaleString()} / ${ns.l1MaxEntries.toLocaleString()}`,
              },
              {
                header: 'L1 / L2 / L3 hits',
                className: 'right',
                cell: (ns) => `${ns.counters.l1Hits} / ${ns.counters.l2Hits} / ${ns.counters.l3Hits}`,
              },
              { header: 'Stale', className: 'right', cell: (ns) => ns.counters.staleServes },
              {
                header: 'Loader calls',
                className: 'right',
                cell: (ns) => (
                  <>
                    {ns.counters.loaderCalls}
                    {ns.counters.loaderErrors + ns.counters.loaderTimeouts > 0 && (
                      <span className="muted small"> ({ns.counters.loaderErrors + ns.counters.loaderTimeouts} failed)</span>
                    )}
                  </>
                ),
              },
              {
                header: 'Loader p50 / p99',
                className: 'right',
                cell: (ns) =>
                  ns.latency.loader.count === 0
                    ? '—'
                    : `${formatValue(ns.latency.loader.p50, 'ms')} / ${formatValue(ns.latency.loader.p99, 'ms')}`,
              },
              {
                header: 'L2 p99',
                className: 'right',
                cell: (ns) => (ns.latency.l2.count === 0 ? '—' : formatValue(ns.latency.l2.p99, 'ms')),
              },
              {
                header: 'L3 p99',
                className: 'right',
                cell: (ns) => (ns.latency.l3.count === 0 ? '—' : formatValue(ns.latency.l3.p99, 'ms')),
              },
            ]}
          />
        )}
      </Card>

      <div className="two-col">
        <Card title="Advice">
          {data.recommendations.length === 0 ? (
            <p className="muted">Nothing to change: no namespace shows a pattern worth acting on yet.</p>
          ) : (
            <ul className="advice" data-testid="cache-recommendations">
              {data.recommendations.map((r) => (
                <li key={r}>{r}</li>
              ))}
            </ul>
          )}
        </Card>
        <Card title="Hottest keys (sampled)">
          <KeyList
            rows={data.hottest.map((k) => ({ id: `${k.namespace}/${k.key}`, value: `${k.samples}` }))}
            empty={data.keysHidden ? 'Key names are shown to operators.' : 'No hits sampled yet.'}
            testId="hottest-keys"
          />
        </Card>
      </div>
      <div className="two-col">
        <Card title="Largest keys">
          <KeyList
            rows={data.largest.map((k) => ({ id: `${k.namespace}/${k.key}`, value: formatValue(k.size, 'bytes') }))}
            empty={data.keysHidden ? 'Key names are shown to operators.' : 'Nothing stored yet.'}
            testId="largest-keys"
          />
        </Card>
        <Card title="Redis and the bus">
          <table className="table">
            <tbody>
              <tr>
                <td>State</td>
                <td className="right">{REDIS_WORDS[data.redis.state] ?? data.redis.state}</td>
              </tr>
              <tr>
                <td>Breaker opened</td>
                <td className="right">{data.redis.breakerOpens}</td>
              </tr>
              <tr>
                <td>Failed commands</td>
                <td className="right">{data.redis.failures}</td>
              </tr>
              <tr>
                <td>Bus messages received</td>
                <td className="right">{data.redis.busMessages}</td>
              </tr>
              <tr>
                <td>Namespaces resynchronised</td>
                <td className="right">{data.redis.resyncs}</td>
              </tr>
              <tr>
                <td>Changes waiting for Redis</td>
                <td className="right">{data.redis.outbox}</td>
              </tr>
            </tbody>
          </table>
          <p className="muted small">Node {data.nodeId}</p>
        </Card>
      </div>

      {operator ? (
        <>
          <CacheActions
            namespaces={data.namespaces.map((n) => n.name)}
            warmups={data.warmups}
            onDone={() => {
              stats.reload();
              setKeysChanged((n) => n + 1);
            }}
          />
          {data.namespaces.length > 0 && <KeyBrowser namespaces={data.namespaces.map((n) => n.name)} refresh={keysChanged} />}
        </>
      ) : (
        <EmptyState title="Read only">Invalidating, clearing, warming and browsing keys need an operator key.</EmptyState>
      )}
    </>
  );
}

function KeyList({ rows, empty, testId }: { rows: { id: string; value: string }[]; empty: string; testId: string }) {
  if (rows.length === 0) return <p className="muted">{empty}</p>;
  return (
    <table className="table" data-testid={testId}>
      <tbody>
        {rows.map((r) => (
          <tr key={r.id}>
            <td className="mono">{r.id}</td>
            <td className="right">{r.value}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
