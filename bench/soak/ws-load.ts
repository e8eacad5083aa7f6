// The soak's WebSocket side, in its own process so its receiving work does not share the parent's
// event loop with the HTTP latencies it measures: N RealtimeClients (the hub's own client), each on
// its own API key, all subscribed to one room, publishing round-robin at `rate` a second with
// `ack: true` (every subscriber must acknowledge; the hub resends until it does). Connection churn
// cuts one client's socket every `cutEveryMs` (the client reconnects and resumes from its position);
// key churn is the parent's: it makes a key, `replace`s a slot's client with one on that key (the old
// client first catches up to every publication acknowledged so far), then revokes the old key.
// `verify` counts, for every client that was ever subscribed, the acknowledged publications it should
// have received and did not.
import { RealtimeClient } from '../../main/realtime/client';
import { trackedWebSocket } from '../tracked-websocket';

type Command =
  | { cmd: 'start'; url: string; tokens: string[]; room: string; rate: number; cutEveryMs: number }
  | { cmd: 'replace'; slot: number; token: string }
  | { cmd: 'stop' }
  | { cmd: 'verify' }
  | { cmd: 'close' };

const send = (m: unknown) => process.send?.(m);

/** Sockets churn or chaos can cut. */
const { TrackedWebSocket, live } = trackedWebSocket();

interface Subscriber {
  readonly client: RealtimeClient;
  /** The room's offset when it subscribed: it owes nothing up to here. */
  start: number;
  /** Set when it was retired: it owes nothing after here. */
  end: number | null;
  readonly got: number[];
  gaps: number;
}

let url = '';
let room = '';
let epoch = '';
const slots: Subscriber[] = [];
const retired: Subscriber[] = [];
const acked: number[] = [];
/** The highest offset acknowledged so far. */
let maxAcked = 0;
const ackMs: number[] = [];
let publishFailed = 0;
let skipped = 0;
let inflight = 0;
let reconnects = 0;
let timers: NodeJS.Timeout[] = [];

async function subscriber(token: string): Promise<Subscriber> {
  const client = new RealtimeClient({ url, token, WebSocket: TrackedWebSocket as never, reconnect: { minMs: 50, maxMs: 1000 } });
  const sub: Subscriber = { client, start: 0, end: null, got: [], gaps: 0 };
  let welcomed = 0;
  client.on('welcome', () => {
    welcomed += 1;
    if (welcomed > 1) reconnects += 1;
  });
  client.on('message', (m) => {
    if (m.room === room && m.epoch === epoch) sub.got.push(m.offset as number);
  });
  client.on('gap', (g) => {
    if (g.room === room) sub.gaps += 1;
  });
  // Connection churn may cut this very socket mid-subscribe: try again, as a program would.
  for (let attempt = 1; ; attempt += 1) {
    try {
      const result = await client.subscribe(room);
      sub.start = result.position.epoch === epoch ? result.position.offset : 0;
      return sub;
    } catch (err) {
      if (attempt >= 5) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** Highest offset a client has seen in the room (its position), or -1. */
const seen = (sub: Subscriber): number => {
  const p = sub.client.position(room);
  return p === null || p.epoch !== epoch ? -1 : p.offset;
};

async function caughtUp(subs: readonly Subscriber[], upTo: number, ms: number): Promise<void> {
  for (const deadline = Date.now() + ms; Date.now() < deadline;) {
    if (subs.every((s) => seen(s) >= upTo)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

function publish(): void {
  if (inflight >= 200) {
    skipped += 1;
    return;
  }
  const sub = slots[Math.floor(Math.random() * slots.length)] as Subscriber;
  inflight += 1;
  const t0 = performance.now();
  sub.client
    .publish(room, { at: Date.now() }, { ack: true })
    .then(({ position }) => {
      ackMs.push(performance.now() - t0);
      if (position.epoch === epoch) {
        acked.push(position.offset);
        maxAcked = Math.max(maxAcked, position.offset);
      } else publishFailed += 1;
    })
    .catch(() => (publishFailed += 1))
    .finally(() => (inflight -= 1));
}

function p99(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] as number;
}

process.on('message', (message: Command) => {
  void (async () => {
    if (message.cmd === 'start') {
      url = message.url;
      room = message.room;
      // A first publication gives the room its epoch, so every subscriber starts from a known position.
      const first = new RealtimeClient({ url, token: message.tokens[0] as string, WebSocket: TrackedWebSocket as never });
      epoch = (await first.publish(room, { warmup: true })).position.epoch;
      first.close();
      for (const token of message.tokens) slots.push(await subscriber(token));
      let owed = 0;
      timers = [
        setInterval(() => {
          owed += message.rate / 10;
          for (; owed >= 1; owed -= 1) publish();
        }, 100),
        setInterval(() => {
          const sockets = [...live];
          sockets[Math.floor(Math.random() * sockets.length)]?.terminate();
        }, message.cutEveryMs),
      ];
      send({ started: slots.length });
    } else if (message.cmd === 'replace') {
      const old = slots[message.slot] as Subscriber;
      const upTo = maxAcked;
      slots[message.slot] = await subscriber(message.token);
      await caughtUp([old], upTo, 10_000);
      old.end = upTo;
      old.client.close();
      retired.push(old);
      send({ replaced: message.slot });
    } else if (message.cmd === 'stop') {
      for (const t of timers) clearInterval(t);
      for (const deadline = Date.now() + 15_000; inflight > 0 && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 50));
      await caughtUp(slots, maxAcked, 15_000);
      send({ stopped: true });
    } else if (message.cmd === 'verify') {
      let expected = 0;
      let lost = 0;
      let gaps = 0;
      for (const sub of [...slots, ...retired]) {
        const got = new Set(sub.got);
        gaps += sub.gaps;
        for (const o of acked) {
          if (o <= sub.start || (sub.end !== null && o > sub.end)) continue;
          expected += 1;
          if (!got.has(o)) lost += 1;
        }
      }
      send({
        published: acked.length,
        publishFailed,
        skipped,
        expected,
        lost,
        gaps,
        reconnects,
        replaced: retired.length,
        ackP99Ms: p99(ackMs),
      });
    } else if (message.cmd === 'close') {
      for (const sub of slots) sub.client.close();
      send({ closed: true });
      setTimeout(() => process.exit(0), 50);
    }
  })().catch((err: unknown) => send({ error: (err as Error).message }));
});
// The parent went away (it failed, or was killed): nothing here is worth keeping.
process.on('disconnect', () => process.exit(0));
send({ ready: true });
