import { useEffect, useState, type FormEvent } from 'react';
import type { EventPayload } from '../../../contract/events';
import { roleAllows } from '../../../contract/roles';
import { useAction, useClient, useEvent, useOperation, useSession } from '../client/client-context';
import { DataTable } from '../components/data-table';
import { KeyName, useKeyName } from '../components/key-name';
import { LineChart, type ChartSeries } from '../components/line-chart';
import { Card, EmptyState, ErrorBanner, PageHeader, Stat, StatusBadge } from '../components/ui';

type Stats = EventPayload<'realtime.stats'>;
interface Sample {
  at: number;
  delivered: number;
  published: number;
}

/** Stats arrive every 2 s: 45 samples are the last 90 s. */
const SAMPLE_MS = 2000;
const WINDOW = 45;
// Side by side on a wide window, stacked on a narrow one; a card's own margin spaces the rows, so stacked cards sit as far apart as any two.
const two = { display: 'grid', gridTemplateColumns: 'repeat(auto-fit, minmax(420px, 1fr))', columnGap: 16 } as const;

/** Live state of the real-time hub: connections, rooms, presence, rates, slow clients, a room's tail. */
export function RealtimeView() {
  const initial = useOperation('realtime.stats', {}, { intervalMs: 5000 });
  const [stats, setStats] = useState<Stats | undefined>();
  const [samples, setSamples] = useState<Sample[]>([]);
  const [room, setRoom] = useState<string | null>(null);

  const take = (next: Stats) => {
    setStats(next);
    setSamples((old) =>
      [...old, { at: Date.now(), delivered: next.rates.deliveredPerSecond, published: next.rates.publishedPerSecond }].slice(-WINDOW),
    );
  };
  useEffect(() => {
    if (initial.data !== undefined) take(initial.data);
  }, [initial.data]);
  useEvent('realtime.stats', take);

  return (
    <>
      <PageHeader title="Real-time" subtitle="Who is connected, which rooms are busy, and whether anyone is falling behind." />
      <ErrorBanner error={initial.error} />
      {stats === undefined ? (
        initial.error === null && (
          <EmptyState title="Loading the hub's state">Connections, rooms and rates appear here in a moment.</EmptyState>
        )
      ) : (
        <>
          <div className="stats" data-testid="realtime-stats">
            <Stat label="Connections" value={stats.connections} />
            <Stat label="Users" value={stats.byUser.length} />
            <Stat label="Rooms" value={stats.rooms.length} />
            <Stat label="Present (room × user)" value={stats.presence} />
            <Stat label="Delivered / s" value={formatRate(stats.rates.deliveredPerSecond)} />
            <Stat label="Published / s" value={formatRate(stats.rates.publishedPerSecond)} />
            <Stat label="Slow clients" value={stats.slowClients.length} tone={stats.slowClients.length === 0 ? 'ok' : 'warn'} />
            <Stat
              label={`Backplane (${stats.backplane})`}
              value={<StatusBadge state={stats.healthy ? 'connected' : 'degraded'} />}
              tone={stats.healthy ? 'ok' : 'bad'}
            />
          </div>
          <Card title="Messages per second">
            <RateChart samples={samples} />
          </Card>
          <div style={two}>
            <Card title="Rooms">
              {stats.rooms.length === 0 ? (
                <p className="muted">No rooms have members on this node.</p>
              ) : (
                <DataTable
                  testId="rooms-table"
                  rows={stats.rooms}
                  rowKey={(r) => r.room}
                  columns={[
                    { header: 'Room', className: 'mono', cell: (r) => r.room },
                    { header: 'Connections', className: 'right', cell: (r) => r.members },
                    { header: 'Users', className: 'right', cell: (r) => r.users },
                    { header: 'Msg / s', className: 'right', cell: (r) => formatRate(r.messagesPerSecond) },
                    {
                      header: '',
                      className: 'right',
                      cell: (r) => (
                        <button className="link" onClick={() => setRoom(r.room)} aria-label={`Watch ${r.room}`}>
                          {room === r.room ? 'watching' : 'watch'}
                        </button>
                      ),
                    },
                  ]}
                />
              )}
            </Card>
            <Card title="Connections">
              <DataTable
                testId="connections-table"
                rows={stats.byUser.slice(0, 12)}
                rowKey={(u) => u.user}
                columns={[
                  { header: 'User', cell: (u) => <KeyName id={u.user} /> },
                  { header: 'Connections', className: 'right', cell: (u) => u.connections },
                ]}
              />
              {stats.byNode.length > 0 && (
                <p className="muted small">
                  By node:{' '}
                  {stats.byNode.map((n) => (
                    <span key={n.node} className="mono" style={{ marginRight: 12 }}>
                      {n.node === stats.node ? `${n.node} (this)` : n.node}: {n.connections}
                    </span>
                  ))}
                </p>
              )}
            </Card>
          </div>
          <div style={two}>
            <Card title="Lanes and delivery">
              <table className="table" data-testid="lanes-table">
                <tbody>
                  <tr>
                    <td>Queued (high / normal / low)</td>
                    <td className="right mono">
                      {stats.lanes.high} / {stats.lanes.normal} / {stats.lanes.low}
                    </td>
                  </tr>
                  <Row label="Dropped (shed under backpressure)" value={stats.totals.dropped} warn={stats.totals.dropped > 0} />
                  <Row label="Coalesced (low lane, latest value kept)" value={stats.totals.coalesced} />
                  <Row label="Resent awaiting ack" value={stats.totals.retried} />
                  <Row label="Ack deadline passed" value={stats.totals.ackExpired} warn={stats.totals.ackExpired > 0} />
                  <Row label="Inbound frames refused (rate limit)" value={stats.totals.rateLimited} warn={stats.totals.rateLimited > 0} />
                  <Row
                    label="Closed: buffer overflow / missed heartbeats"
                    value={`${stats.totals.closedOverflow} / ${stats.totals.closedHeartbeat}`}
                  />
                </tbody>
              </table>
            </Card>
            <Card title="Slow clients">
              {stats.slowClients.length === 0 ? (
                <p className="muted">Every client is keeping up.</p>
              ) : (
                <DataTable
                  testId="slow-table"
                  rows={stats.slowClients}
                  rowKey={(c) => c.session}
                  columns={[
                    { header: 'User', cell: (c) => <KeyName id={c.user} /> },
                    { header: 'Held', className: 'right', cell: (c) => formatBytes(c.heldBytes) },
                    { header: 'Queued h/n/l', className: 'right mono', cell: (c) => `${c.queued.high}/${c.queued.normal}/${c.queued.low}` },
                    { header: 'Dropped', className: 'right', cell: (c) => c.dropped },
                  ]}
                />
              )}
            </Card>
          </div>
          {room !== null && <RoomTail room={room} onClose={() => setRoom(null)} />}
          <PublishForm room={room} />
        </>
      )}
    </>
  );
}

function Row({ label, value, warn }: { label: string; value: number | string; warn?: boolean }) {
  return (
    <tr>
      <td>{label}</td>
      <td className="right mono" style={warn === true ? { color: 'var(--warn)' } : undefined}>
        {value}
      </td>
    </tr>
  );
}

const TAIL_LENGTH = 15;

/**
 * A room's messages as they arrive, through the console's own hub connection; null where the
 * console has none (IPC), so the tail polls the history instead.
 */
function useLiveMessages(room: string): TailMessage[] | null {
  const client = useClient();
  const [messages, setMessages] = useState<TailMessage[]>([]);
  useEffect(() => {
    if (client.watchRoom === undefined) return undefined;
    setMessages([]);
    return client.watchRoom(room, (m) =>
      setMessages((list) =>
        [...list, { mid: m.mid, epoch: m.epoch ?? '', offset: m.offset ?? null, at: m.at, from: m.from, lane: m.lane, data: m.data }].slice(
          -TAIL_LENGTH,
        ),
      ),
    );
  }, [client, room]);
  return client.watchRoom === undefined ? null : messages;
}

interface TailMessage {
  mid: string;
  epoch: string;
  offset: number | null;
  at: number;
  from: string;
  lane: string;
  data: unknown;
}

/** History first, then what arrived live, each message once, newest first. */
function mergeTail(history: readonly TailMessage[], live: readonly TailMessage[]): TailMessage[] {
  const byMid = new Map<string, TailMessage>();
  for (const m of [...history, ...live]) byMid.set(m.mid, m);
  return [...byMid.values()]
    .sort((a, b) => (a.offset !== null && b.offset !== null ? a.offset - b.offset : a.at - b.at))
    .slice(-TAIL_LENGTH)
    .reverse();
}

/** The live tail and presence of one room: live over the hub where the console has it, else polled every second. */
function RoomTail({ room, onClose }: { room: string; onClose: () => void }) {
  const live = useLiveMessages(room);
  const tail = useOperation('realtime.history', { room, limit: TAIL_LENGTH }, live === null ? { intervalMs: 1000 } : {});
  const presence = useOperation('realtime.presence', { room }, { intervalMs: 2000 });
  const keyName = useKeyName();
  const messages = mergeTail(tail.data?.messages ?? [], live ?? []);
  // The newest message says where the room stands once live messages overtake the history read.
  const newest = messages.find((m) => m.offset !== null);
  const position =
    newest !== undefined && newest.offset !== null && (tail.data?.position == null || newest.offset > tail.data.position.offset)
      ? { epoch: newest.epoch, offset: newest.offset }
      : (tail.data?.position ?? null);
  return (
    <Card title={`Room ${room}`}>
      <ErrorBanner error={tail.error ?? presence.error} />
      <p className="muted small">
        Position: <span className="mono">{position === null ? '—' : `${position.epoch} @ ${position.offset}`}</span>
        {' · '}Present:{' '}
        {(presence.data?.members ?? [])
          .map((m) => keyName(m.user) + (typeof m.meta.name === 'string' ? ` (${m.meta.name})` : ''))
          .join(', ') || 'nobody'}
        {' · '}
        <button className="link" onClick={onClose}>
          stop watching
        </button>
      </p>
      {messages.length === 0 ? (
        <p className="muted">No messages yet (rooms under progress: and system: keep no history; their messages show as they arrive).</p>
      ) : (
        <DataTable
          testId="tail-table"
          rows={messages}
          rowKey={(m) => m.mid}
          columns={[
            { header: 'Offset', className: 'right mono', cell: (m) => m.offset ?? '—' },
            { header: 'At', className: 'muted small', cell: (m) => new Date(m.at).toLocaleTimeString() },
            { header: 'From', cell: (m) => <KeyName id={m.from} /> },
            { header: 'Lane', cell: (m) => m.lane },
            { header: 'Data', className: 'mono clip', cell: (m) => JSON.stringify(m.data) },
          ]}
        />
      )}
    </Card>
  );
}

function PublishForm({ room }: { room: string | null }) {
  const { role } = useSession();
  const publish = useAction('realtime.publish');
  const [target, setTarget] = useState(room ?? '');
  const [data, setData] = useState('{"hello": "from the console"}');
  const [parseError, setParseError] = useState<string | null>(null);
  const [sent, setSent] = useState<string | null>(null);
  useEffect(() => {
    if (room !== null) setTarget(room);
  }, [room]);
  if (!roleAllows(role, 'operator')) return null;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    let value: unknown;
    try {
      value = JSON.parse(data);
      setParseError(null);
    } catch {
      setParseError('The message is not valid JSON');
      return;
    }
    const result = await publish.run({ room: target, data: value });
    if (result !== undefined) setSent(`Published to ${target} at offset ${result.position.offset}`);
  };

  return (
    <Card title="Publish to a room">
      <ErrorBanner error={publish.error} onDismiss={publish.clearError} />
      {parseError !== null && (
        <div className="error-banner" role="alert">
          {parseError}
        </div>
      )}
      <form className="inline-form" onSubmit={(e) => void submit(e)} onChange={publish.clearError}>
        <label>
          Room
          <input value={target} onChange={(e) => setTarget(e.target.value)} placeholder="e.g. orders" required maxLength={128} />
        </label>
        <label>
          Message (JSON)
          <input value={data} onChange={(e) => setData(e.target.value)} style={{ minWidth: 360 }} />
        </label>
        <button type="submit" className="primary" disabled={publish.pending || target.trim() === ''}>
          Publish
        </button>
      </form>
      {sent !== null && <p className="muted small">{sent}</p>}
    </Card>
  );
}

/** Delivered and published per second over the last 90 s, with the hub's 2 s sampling step. */
function RateChart({ samples }: { samples: readonly Sample[] }) {
  if (samples.length < 2) return <p className="muted small">The chart fills in as the hub reports (every 2 s).</p>;
  const to = (samples.at(-1) as Sample).at;
  const series = (name: string, label: string, pick: (s: Sample) => number): ChartSeries => ({
    name,
    label,
    unit: '/s',
    points: samples.map((s) => ({ t: s.at, avg: pick(s) })),
  });
  return (
    <div data-testid="rate-chart">
      <LineChart
        title="Last 90 s"
        series={[
          series('realtime.delivered', 'delivered', (s) => s.delivered),
          series('realtime.published', 'published', (s) => s.published),
        ]}
        from={to - (WINDOW - 1) * SAMPLE_MS}
        to={to}
        stepMs={SAMPLE_MS}
        width={760}
      />
    </div>
  );
}

function formatRate(value: number): string {
  if (value >= 10_000) return `${(value / 1000).toFixed(0)}k`;
  if (value >= 1000) return `${(value / 1000).toFixed(1)}k`;
  return value >= 10 ? value.toFixed(0) : value.toFixed(1);
}

function formatBytes(value: number): string {
  if (value >= 1024 * 1024) return `${(value / 1024 / 1024).toFixed(1)} MiB`;
  if (value >= 1024) return `${(value / 1024).toFixed(0)} KiB`;
  return `${value} B`;
}
