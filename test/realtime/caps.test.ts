import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChildClient, RawClient, client, sleep, startNode, until, type Node } from './helpers';

const CAP = 256 * 1024;

/** A JSON value nested `depth` arrays deep. */
const nested = (depth: number): string => `${'['.repeat(depth)}1${']'.repeat(depth)}`;

// Stalled readers are child processes frozen with SIGSTOP: the kernel buffers fill, then the hub's.
describe('every socket within its cap', () => {
  let node: Node;
  let viewer: string;
  let operator: string;
  beforeAll(async () => {
    // Long ping interval: a frozen process cannot answer pings, and these tests are about buffers.
    node = await startNode({ realtime: { pingIntervalMs: 60_000, maxBufferedBytes: CAP, highWaterBytes: 32 * 1024 } });
    viewer = await node.key('viewer', 'viewer');
    operator = await node.key('operator', 'operator');
  });
  afterAll(async () => {
    await node.stop();
  });

  const hub = () => node.plane.running.realtime;

  it('holds a stalled reader under its byte cap however many messages it misses: its gap frames count and coalesce into one per room', async () => {
    const slow = new ChildClient(node.wsUrl, operator);
    await slow.next((f) => f.type === 'welcome');
    slow.send({ type: 'subscribe', room: 'system:gaps', id: 1 });
    await slow.next((f) => f.type === 'reply');
    slow.stall();
    const payload = 'g'.repeat(1024);
    let published = 0;
    let maxHeld = 0;
    let dropped = 0;
    // Far more drops than the cap has room for gap frames (~170 bytes each): 6,000 × 170 B > 1 MB.
    while (dropped < 6000 && published < 60_000) {
      for (let i = 0; i < 100; i += 1) await hub().publishAsServer('system:gaps', { i: ++published, payload });
      await sleep(1);
      const stats = await hub().stats();
      const mine = stats.slowClients[0];
      if (mine !== undefined) {
        maxHeld = Math.max(maxHeld, mine.heldBytes);
        dropped = mine.dropped;
      }
    }
    expect(dropped).toBeGreaterThanOrEqual(6000);
    // One frame may go out past the mark when the socket was under it; nothing else passes the cap.
    expect(maxHeld).toBeLessThanOrEqual(CAP + 2 * 1024);

    slow.resume();
    const covered = new Set<number>();
    const gaps: any[] = [];
    await until(
      () => {
        for (const f of slow.take((x) => x.type === 'message' || x.type === 'gap')) {
          if (f.type === 'message') covered.add(f.offset);
          else {
            gaps.push(f);
            for (let o = f.from; o <= f.to; o += 1) covered.add(o);
          }
        }
        return covered.size >= published;
      },
      20_000,
      'the slow client to be told about every offset',
    );
    // One gap per stretch of drops, not one per dropped message.
    expect(gaps.length).toBeGreaterThanOrEqual(1);
    expect(gaps.length).toBeLessThanOrEqual(3);
    expect(gaps.every((g) => g.reason === 'dropped' && g.room === 'system:gaps')).toBe(true);
    slow.kill();
  });

  it('paces a long catch-up by the reader: 300 × 40 KB replayed through a 256 KiB cap to a reader that pauses, none lost, never closed', async () => {
    const pub = client(node.wsUrl, operator);
    const data = 'r'.repeat(40 * 1024);
    let epoch = '';
    for (let i = 1; i <= 300; i += 1) epoch = (await pub.publish('long-catch-up', { i, data })).position.epoch;
    const reader = await RawClient.connect(node.wsUrl, viewer);
    // A reader that keeps up, but in bursts: it stops reading its socket for 50 ms in every 100.
    let pausing = true;
    const pauser = (async () => {
      while (pausing) {
        reader.ws.pause();
        await sleep(50);
        reader.ws.resume();
        await sleep(50);
      }
    })();
    const before = (await hub().stats()).totals.closedOverflow;
    const reply = await reader.request({ type: 'subscribe', room: 'long-catch-up', since: { epoch, offset: 0 } }, 60_000);
    pausing = false;
    await pauser;
    expect(reply).toMatchObject({ type: 'reply', result: { replayed: 300, position: { epoch, offset: 300 } } });
    expect(reader.take((f) => f.type === 'message').map((m) => m.offset)).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
    expect(reader.frames.filter((f) => f.type === 'gap')).toHaveLength(0);
    expect(reader.ws.readyState).toBe(reader.ws.OPEN);
    expect((await hub().stats()).totals.closedOverflow).toBe(before);
    reader.close();
    pub.close();
  });

  it('answers a since beyond the room’s head with a rewound gap, and the client library then takes the new messages', async () => {
    const pub = client(node.wsUrl, operator);
    const { position } = await pub.publish('rewound', 'one');
    const raw = await RawClient.connect(node.wsUrl, viewer);
    const reply = await raw.request({ type: 'subscribe', room: 'rewound', since: { epoch: position.epoch, offset: 9 } });
    expect(reply.result.position).toEqual(position);
    expect(raw.take((f) => f.type === 'gap')).toEqual([
      { type: 'gap', room: 'rewound', epoch: position.epoch, from: 2, to: 9, reason: 'rewound', position },
    ]);
    raw.close();

    const sub = client(node.wsUrl, viewer);
    const got: unknown[] = [];
    const gaps: string[] = [];
    sub.on('message', (m) => got.push(m.data));
    sub.on('gap', (g) => gaps.push(g.reason));
    await sub.subscribe('rewound', { since: { epoch: position.epoch, offset: 9 } });
    expect(gaps).toEqual(['rewound']);
    expect(sub.position('rewound')).toEqual(position);
    await pub.publish('rewound', 'two');
    await until(() => got.length === 1, 3000, 'offset 2, which the client had taken for a duplicate');
    expect(got).toEqual(['two']);
    sub.close();
    pub.close();
  });

  it("gives an empty room's subscriber a position to resume from: nothing published while it was away is missed", async () => {
    const first = client(node.wsUrl, viewer);
    const { position } = await first.subscribe('empty-at-first');
    expect(position).toEqual({ epoch: expect.any(String), offset: 0 });
    first.close();
    const pub = client(node.wsUrl, operator);
    await pub.publish('empty-at-first', 'a');
    await pub.publish('empty-at-first', 'b');
    const again = await RawClient.connect(node.wsUrl, viewer);
    const reply = await again.request({ type: 'subscribe', room: 'empty-at-first', since: position });
    expect(reply.result).toMatchObject({ replayed: 2, position: { epoch: position.epoch, offset: 2 } });
    expect(again.take((f) => f.type === 'message').map((m) => m.data)).toEqual(['a', 'b']);
    expect(again.frames.filter((f) => f.type === 'gap')).toHaveLength(0);
    again.close();
    pub.close();
  });

  it('lets only operators and admins subscribe to system: rooms by default', async () => {
    const v = await RawClient.connect(node.wsUrl, viewer);
    expect(await v.request({ type: 'subscribe', room: 'system:jobs' })).toMatchObject({
      type: 'error',
      error: { code: 'PH_REALTIME_FORBIDDEN' },
    });
    expect(await v.request({ type: 'subscribe', room: 'progress:jobs' })).toMatchObject({ type: 'reply' });
    const o = await RawClient.connect(node.wsUrl, operator);
    expect(await o.request({ type: 'subscribe', room: 'system:jobs' })).toMatchObject({ type: 'reply' });
    v.close();
    o.close();
  });

  it('refuses a publish whose data nests deeper than HTTP bodies may, with a coded error frame, and keeps the connection', async () => {
    const c = await RawClient.connect(node.wsUrl, operator);
    c.send(`{"type":"publish","id":7,"room":"deep","data":${nested(5000)}}`);
    expect(await c.next((f) => f.id === 7)).toMatchObject({ type: 'error', error: { code: 'PH_JSON_TOO_DEEP' } });
    expect(await c.request({ type: 'publish', room: 'deep', data: JSON.parse(nested(60)) })).toMatchObject({ type: 'reply' });
    // The same limit as an HTTP body of the same operation.
    const res = await fetch(`${node.url}/api/v2/ops/realtime.publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${operator}` },
      body: `{"room":"deep","data":${nested(5000)}}`,
    });
    expect({ status: res.status, code: ((await res.json()) as any).error.code }).toEqual({ status: 400, code: 'PH_JSON_TOO_DEEP' });
    c.close();
  });
});

describe('room rules and the subscription limit from the config file', () => {
  let node: Node;
  beforeAll(async () => {
    node = await startNode({
      config: {
        realtime: {
          maxSubscriptions: 3,
          maxConnectionsPerKey: 2,
          rooms: [{ prefix: 'orders:', subscribeRole: 'operator', publishRole: 'admin', history: false }],
        },
      },
    });
  });
  afterAll(async () => {
    await node.stop();
  });

  it('applies a configured rule by prefix and keeps the default rules it does not replace', async () => {
    const viewer = await RawClient.connect(node.wsUrl, await node.key('viewer'));
    const operator = await RawClient.connect(node.wsUrl, await node.key('operator'));
    expect(await viewer.request({ type: 'subscribe', room: 'orders:eu' })).toMatchObject({ error: { code: 'PH_REALTIME_FORBIDDEN' } });
    expect(await operator.request({ type: 'subscribe', room: 'orders:eu' })).toMatchObject({ type: 'reply' });
    expect(await operator.request({ type: 'publish', room: 'orders:eu', data: 1 })).toMatchObject({
      error: { code: 'PH_REALTIME_FORBIDDEN' },
    });
    expect(await viewer.request({ type: 'subscribe', room: 'system:x' })).toMatchObject({ error: { code: 'PH_REALTIME_FORBIDDEN' } });
    viewer.close();
    operator.close();
  });

  it('refuses a connection one room more than maxSubscriptions with PH_REALTIME_TOO_MANY_ROOMS, until it leaves one', async () => {
    const c = await RawClient.connect(node.wsUrl, await node.key('viewer', 'many-rooms'));
    for (const room of ['a', 'b', 'c']) expect(await c.request({ type: 'subscribe', room })).toMatchObject({ type: 'reply' });
    expect(await c.request({ type: 'subscribe', room: 'a' })).toMatchObject({ type: 'reply' });
    expect(await c.request({ type: 'subscribe', room: 'd' })).toMatchObject({
      type: 'error',
      error: { code: 'PH_REALTIME_TOO_MANY_ROOMS', field: 'room' },
    });
    await c.request({ type: 'unsubscribe', room: 'b' });
    expect(await c.request({ type: 'subscribe', room: 'd' })).toMatchObject({ type: 'reply' });
    c.close();
  });

  it('refuses a viewer or operator key one connection more than maxConnectionsPerKey, coded, until one closes; admins are not counted', async () => {
    const viewer = await node.key('viewer', 'many-sockets');
    const [a, b] = [await RawClient.connect(node.wsUrl, viewer), await RawClient.connect(node.wsUrl, viewer)];
    const third = new RawClient(node.wsUrl, { token: viewer });
    expect(await third.next((f) => f.type === 'error')).toMatchObject({ error: { code: 'PH_REALTIME_TOO_MANY_CONNECTIONS' } });
    // 1013 (try again later), not 1008 (do not retry that credential): the key is good.
    expect((await third.closed).code).toBe(1013);
    a.close();
    await a.closed;
    await until(
      async () => {
        const again = new RawClient(node.wsUrl, { token: viewer });
        const first = await again.next((f) => f.type === 'welcome' || f.type === 'error');
        again.close();
        return first.type === 'welcome';
      },
      5_000,
      'a connection once one closed',
    );
    const admins = await Promise.all([1, 2, 3].map(() => RawClient.connect(node.wsUrl, node.adminKey)));
    for (const c of [b, ...admins]) c.close();
  });

  it('the client library retries a key at its connection cap with backoff, and is in once one of its connections closes', async () => {
    const viewer = await node.key('viewer', 'retrying');
    const held = [await RawClient.connect(node.wsUrl, viewer), await RawClient.connect(node.wsUrl, viewer)];
    const retrying = client(node.wsUrl, viewer, { minMs: 50, maxMs: 200 });
    const closes: number[] = [];
    retrying.on('close', (code) => closes.push(code));
    await expect(retrying.connect()).rejects.toMatchObject({ code: 'PH_REALTIME_TOO_MANY_CONNECTIONS' });
    const welcomed = new Promise<void>((resolve) => retrying.on('welcome', () => resolve()));
    held[0]!.close();
    await welcomed;
    expect(closes[0]).toBe(1013);
    expect(retrying.connected).toBe(true);
    retrying.close();
    held[1]!.close();
  });
});
