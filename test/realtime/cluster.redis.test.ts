import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type TestRedis } from '../helpers/redis-server';
import { RawClient, client, knownOn, sleep, startChildNode, startNode, until, type Node } from './helpers';

const PING_MS = 300;

describe('two nodes on one Redis', () => {
  let redis: TestRedis;
  let a: Node;
  let b: Node;
  let operator: string;
  let viewer: string;
  beforeAll(async () => {
    redis = await startRedis();
    a = await startNode({ config: { redisUrl: redis.url }, realtime: { pingIntervalMs: PING_MS, historyMaxCount: 5, node: 'node-a' } });
    b = await startNode({
      config: { redisUrl: redis.url },
      realtime: { pingIntervalMs: PING_MS, historyMaxCount: 5, node: 'node-b' },
    });
    // The keys of one deployment work on every node: made on A, they reach B through Redis.
    operator = await a.key('operator', 'program');
    viewer = await a.key('viewer', 'watcher');
    await knownOn([b.url], operator, viewer);
  });
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
    await redis?.stop();
  });

  it('fans a message published on one node out to subscribers on the other', async () => {
    const sub = await RawClient.connect(b.wsUrl, viewer);
    await sub.request({ type: 'subscribe', room: 'fanout' });
    const pub = await RawClient.connect(a.wsUrl, operator);
    const reply = await pub.request({ type: 'publish', room: 'fanout', data: 'across' });
    expect(await sub.next((f) => f.type === 'message')).toMatchObject({
      room: 'fanout',
      data: 'across',
      offset: 1,
      epoch: reply.result.position.epoch,
    });
    sub.close();
    pub.close();
  });

  it("numbers one room's messages in one sequence whichever node they are published on", async () => {
    const sub = client(a.wsUrl, viewer);
    const offsets: number[] = [];
    const data: number[] = [];
    sub.on('message', (m) => {
      offsets.push(m.offset as number);
      data.push(m.data as number);
    });
    await sub.subscribe('shared-seq');
    const pa = client(a.wsUrl, operator);
    const pb = client(b.wsUrl, operator);
    for (let i = 0; i < 20; i += 1) await (i % 2 === 0 ? pa : pb).publish('shared-seq', i);
    await until(() => offsets.length === 20);
    expect(offsets).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(data).toEqual(Array.from({ length: 20 }, (_, i) => i));
    for (const c of [sub, pa, pb]) c.close();
  });

  it('keeps room history in a bounded Redis Stream', async () => {
    for (let i = 0; i < 300; i += 1) await a.plane.running.realtime.publishAsServer('bounded', i);
    const r = redis.client();
    expect(await r.type('ph:rt:{bounded}:s')).toBe('stream');
    const length = await r.xlen('ph:rt:{bounded}:s');
    expect(length).toBeGreaterThanOrEqual(5);
    expect(length).toBeLessThan(300);
  });

  it('shows presence per user across nodes: one join for two connections on two nodes, one leave after both', async () => {
    const watcher = await RawClient.connect(a.wsUrl, viewer);
    await watcher.request({ type: 'subscribe', room: 'plaza' });
    const bob = await a.key('viewer', 'bob');
    await knownOn([b.url], bob);
    const onA = await RawClient.connect(a.wsUrl, bob);
    const onB = await RawClient.connect(b.wsUrl, bob);
    await onA.request({ type: 'subscribe', room: 'plaza', presence: { name: 'Bob' } });
    const join = await watcher.next((f) => f.type === 'presence' && f.action === 'join' && f.meta?.name === 'Bob');
    await onB.request({ type: 'subscribe', room: 'plaza' });
    const listOnB = await onB.request({ type: 'presence', room: 'plaza' });
    expect(listOnB.result.members).toEqual(expect.arrayContaining([{ user: join.user, meta: { name: 'Bob' } }]));
    onA.close();
    // Once node a has let onA go, a later join on node a marks the point by which a leave for Bob
    // would have reached the watcher (node a publishes both, in order, on one Redis connection).
    const hubA = a.plane.running.realtime;
    await until(async () => (await hubA.stats()).byUser.every((u) => u.user !== join.user), 5000, 'onA to go');
    const carol = await RawClient.connect(a.wsUrl, await a.key('viewer', 'carol'));
    await carol.request({ type: 'subscribe', room: 'plaza', presence: { name: 'Carol' } });
    await watcher.next((f) => f.type === 'presence' && f.action === 'join' && f.meta?.name === 'Carol');
    expect(watcher.frames.filter((f) => f.type === 'presence' && f.user === join.user)).toHaveLength(0);
    carol.close();
    onB.close();
    expect(await watcher.next((f) => f.type === 'presence' && f.action === 'leave' && f.user === join.user)).toMatchObject({
      room: 'plaza',
    });
    watcher.close();
  });

  it('recovers a client on a node it never connected to: exactly the missed messages, in order', async () => {
    const first = client(a.wsUrl, viewer);
    const seen: number[] = [];
    first.on('message', (m) => seen.push(m.data as number));
    await first.subscribe('recover');
    const pub = client(a.wsUrl, operator);
    await pub.publish('recover', 1);
    await pub.publish('recover', 2);
    await until(() => seen.length === 2);
    const position = first.position('recover');
    first.close();
    for (let i = 3; i <= 5; i += 1) await pub.publish('recover', i);
    const elsewhere = client(b.wsUrl, viewer);
    const replayed: number[] = [];
    elsewhere.on('message', (m) => replayed.push(m.data as number));
    const result = await elsewhere.subscribe('recover', { since: position ?? undefined });
    expect(result.replayed).toBe(3);
    await pub.publish('recover', 6);
    await until(() => replayed.length === 4);
    expect(replayed).toEqual([3, 4, 5, 6]);
    elsewhere.close();
    pub.close();
  });

  it('loses no acknowledged message when the node that took it is killed, and drops its users from presence', async () => {
    const { url: childUrl, wsUrl, kill } = await startChildNode(redis.url, PING_MS);
    try {
      const watcher = await RawClient.connect(a.wsUrl, viewer);
      await watcher.request({ type: 'subscribe', room: 'crash' });
      const carol = await a.key('operator', 'carol');
      await knownOn([childUrl], carol);
      const onChild = await RawClient.connect(wsUrl, carol);
      await onChild.request({ type: 'subscribe', room: 'crash', presence: { name: 'Carol' } });
      const join = await watcher.next((f) => f.type === 'presence' && f.action === 'join' && f.meta?.name === 'Carol');
      const acked: number[] = [];
      for (let i = 1; i <= 10; i += 1) {
        const reply = await onChild.request({ type: 'publish', room: 'crash', data: i });
        acked.push(reply.result.position.offset);
      }
      kill();
      const killedAt = Date.now();
      // Its presence entries stop being refreshed: they expire (3 × ping) and a live node announces the leave.
      await watcher.next((f) => f.type === 'presence' && f.action === 'leave' && f.user === join.user, 5000);
      expect(Date.now() - killedAt).toBeLessThan(3 * PING_MS + 1500);
      const got = watcher.take((f) => f.type === 'message').map((m) => m.offset);
      const resumed = await RawClient.connect(b.wsUrl, viewer);
      await resumed.request({
        type: 'subscribe',
        room: 'crash',
        since: { epoch: (await a.op('realtime.history', { room: 'crash', limit: 1 })).body.position.epoch, offset: 0 },
      });
      const replayed = resumed.take((f) => f.type === 'message').map((m) => m.offset);
      expect(got).toEqual(acked);
      // Every publication the dead node acknowledged is in Redis, replayable on a node it never touched.
      expect(replayed).toEqual(acked);
      watcher.close();
      resumed.close();
    } finally {
      kill();
    }
  });

  it("carries cluster-wide console events (jobs) to the other node's consoles and IPC listeners, and keeps node events local", async () => {
    const onB = await RawClient.connect(b.wsUrl, viewer);
    const onA = await RawClient.connect(a.wsUrl, viewer);
    await onB.request({ type: 'events' });
    await onA.request({ type: 'events' });
    const heardOnB: string[] = [];
    const stopListening = b.plane.running.realtime.subscribeEvents((m) => {
      if (m.event === 'jobs.progress' || m.event === 'service.state')
        heardOnB.push(`${m.event}:${(m.payload as { id?: string; name?: string }).id ?? (m.payload as { name: string }).name}`);
    });
    a.plane.running.bus.publish('service.state', { name: 'only-on-a', state: 'running' });
    a.plane.running.bus.publish('jobs.progress', { id: 'crossing/1', type: 'crossing', progress: 0.5, message: 'half' });
    const event = await onB.next((f) => f.type === 'event' && f.event === 'jobs.progress');
    expect(event.payload).toEqual({ id: 'crossing/1', type: 'crossing', progress: 0.5, message: 'half' });
    await onA.next((f) => f.type === 'event' && f.event === 'service.state' && f.payload.name === 'only-on-a');
    await until(() => heardOnB.includes('jobs.progress:crossing/1'));
    // The node event and the job event left A together: by the time the job event is on B, the other would be too.
    expect(onB.frames.some((f) => f.type === 'event' && f.event === 'service.state' && f.payload.name === 'only-on-a')).toBe(false);
    expect(heardOnB).toEqual(['jobs.progress:crossing/1']);
    // A's own consoles get the event once, from A's bus, not again over Redis.
    await sleep(200);
    expect(onA.frames.filter((f) => f.type === 'event' && f.event === 'jobs.progress').length).toBe(1);
    stopListening();
    onA.close();
    onB.close();
  });

  it("lists every node's connections in realtime.stats", async () => {
    const onA = await RawClient.connect(a.wsUrl, viewer);
    const onB = await RawClient.connect(b.wsUrl, viewer);
    await until(
      async () => {
        const stats = await a.op('realtime.stats', {}, viewer);
        const nodes = stats.body.byNode.map((n: any) => n.node);
        return nodes.includes('node-a') && nodes.includes('node-b');
      },
      5000,
      'both nodes in stats',
    );
    const stats = await a.op('realtime.stats', {}, viewer);
    expect(stats.body.backplane).toBe('redis');
    expect(stats.body.healthy).toBe(true);
    onA.close();
    onB.close();
  });

  // Last: it restarts Redis empty.
  it('answers PH_REALTIME_UNAVAILABLE while Redis is down, and an epoch-changed gap after it comes back empty', async () => {
    const pub = await RawClient.connect(a.wsUrl, operator);
    const before = await pub.request({ type: 'publish', room: 'outage', data: 'before' });
    await redis.kill();
    const during = await pub.request({ type: 'publish', room: 'outage', data: 'during' }, 10_000);
    expect(during).toMatchObject({ type: 'error', error: { code: 'PH_REALTIME_UNAVAILABLE' } });
    await until(
      async () => (await a.op('system.status')).body.services.some((s: any) => s.name === 'realtime' && s.state === 'degraded'),
      5000,
      'degraded',
    );
    await redis.restart();
    await until(
      async () => (await pub.request({ type: 'publish', room: 'outage', data: 'after' }, 10_000)).type === 'reply',
      15_000,
      'publishing again',
    );
    const c = await RawClient.connect(b.wsUrl, viewer);
    await c.request({ type: 'subscribe', room: 'outage', since: before.result.position });
    const gap = await c.next((f) => f.type === 'gap');
    expect(gap).toMatchObject({ reason: 'epoch-changed', epoch: before.result.position.epoch, from: 2, to: null });
    expect(gap.position.epoch).not.toBe(before.result.position.epoch);
    expect((await c.next((f) => f.type === 'message')).data).toBe('after');
    pub.close();
    c.close();
  });
});
