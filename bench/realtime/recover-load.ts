// Recovery load: N RealtimeClients (the repo's client) spread over two nodes, each in `roomsEach`
// rooms; some of their sockets are cut at random while publishers run, and one node is killed.
// At the end each client's record per room is checked against the acknowledged publications.
import { RealtimeClient } from '../../main/realtime/client';
import { trackedWebSocket } from '../tracked-websocket';

type Command =
  | {
      cmd: 'connect';
      urls: string[];
      token: string;
      count: number;
      rooms: string[];
      roomsEach: number;
    }
  | { cmd: 'chaos'; share: number }
  | {
      cmd: 'verify';
      acked: Record<string, { epoch: string; offsets: number[] }>;
    }
  | { cmd: 'close' };

const send = (m: unknown) => process.send?.(m);
const now = () => performance.now();

/** Sockets churn or chaos can cut. */
const { TrackedWebSocket, live } = trackedWebSocket();

interface Record_ {
  client: RealtimeClient;
  rooms: Map<string, { start: number; epoch: string; got: number[]; gaps: [number, number][] }>;
  closedAt: number | null;
}
const records: Record_[] = [];
const resumeMs: number[] = [];

process.on('message', (message: Command) => {
  void (async () => {
    if (message.cmd === 'connect') {
      let ok = 0;
      for (let i = 0; i < message.count; i += 1) {
        const start = Math.floor(Math.random() * message.urls.length);
        const urls = [...message.urls.slice(start), ...message.urls.slice(0, start)];
        const client = new RealtimeClient({
          url: urls,
          token: message.token,
          WebSocket: TrackedWebSocket as never,
          reconnect: { minMs: 50, maxMs: 1000 },
        });
        const record: Record_ = { client, rooms: new Map(), closedAt: null };
        client.on('close', () => {
          record.closedAt ??= now();
        });
        client.on('welcome', () => {
          if (record.closedAt !== null) {
            resumeMs.push(now() - record.closedAt);
            record.closedAt = null;
          }
        });
        client.on('message', (m) => {
          const state = record.rooms.get(m.room ?? '');
          if (state === undefined) return;
          if (state.epoch === '') state.epoch = m.epoch ?? '';
          if (m.epoch === state.epoch) state.got.push(m.offset as number);
        });
        client.on('gap', (g) => {
          const state = record.rooms.get(g.room);
          if (state !== undefined && g.epoch === state.epoch) state.gaps.push([g.from, g.to ?? Number.MAX_SAFE_INTEGER]);
        });
        records.push(record);
        const rooms = [...message.rooms].sort(() => Math.random() - 0.5).slice(0, message.roomsEach);
        try {
          await client.connect();
          for (const room of rooms) {
            const result = await client.subscribe(room);
            record.rooms.set(room, {
              start: result.position?.offset ?? 0,
              epoch: result.position?.epoch ?? '',
              got: [],
              gaps: [],
            });
          }
          ok += 1;
        } catch {
          // counted as not connected
        }
      }
      send({ connected: ok });
    } else if (message.cmd === 'chaos') {
      for (const ws of live) if (Math.random() < message.share) ws.terminate();
      send({ ok: true });
    } else if (message.cmd === 'verify') {
      let total = 0;
      let good = 0;
      let outOfOrder = 0;
      let duplicates = 0;
      for (const record of records) {
        for (const [room, state] of record.rooms) {
          const acked = message.acked[room];
          if (acked === undefined) continue;
          // A room first published after this client subscribed starts a new epoch: take it from the acks.
          if (state.epoch === '') state.epoch = acked.epoch;
          const counts = new Map<number, number>();
          const late = new Set<number>();
          let last = 0;
          for (const o of state.got) {
            counts.set(o, (counts.get(o) ?? 0) + 1);
            if (o <= last) {
              outOfOrder += 1;
              late.add(o);
            }
            last = Math.max(last, o);
          }
          for (const o of acked.offsets) {
            if (o <= state.start) continue;
            total += 1;
            const n = counts.get(o) ?? 0;
            if (n > 1) duplicates += 1;
            const inGap = state.gaps.some(([from, to]) => o >= from && o <= to);
            if ((n === 1 && !late.has(o)) || (n === 0 && inGap)) good += 1;
          }
        }
      }
      send({ total, good, outOfOrder, duplicates, resumeMs, notConnected: records.filter((r) => !r.client.connected).length });
    } else if (message.cmd === 'close') {
      for (const r of records) r.client.close();
      send({ closed: true });
      setTimeout(() => process.exit(0), 50);
    }
  })();
});
send({ ready: true });
