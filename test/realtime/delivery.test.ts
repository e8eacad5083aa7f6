import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemCaller } from '../../main/core';
import { RawClient, client, startNode, until, type Node } from './helpers';

const PING_MS = 200;

describe('heartbeats, inbound limits and acknowledged delivery', () => {
  let node: Node;
  let viewer: string;
  let operator: string;
  beforeAll(async () => {
    node = await startNode({
      realtime: {
        pingIntervalMs: PING_MS,
        ackRetryMs: 100,
        ackDeadlineMs: 1500,
      },
    });
    viewer = await node.key('viewer', 'viewer');
    operator = await node.key('operator', 'operator');
  });
  afterAll(async () => {
    await node.stop();
  });

  const hub = () => node.plane.running.realtime;

  it('closes a client that misses two pings and announces its leave within 2× the ping interval', async () => {
    const watcher = await RawClient.connect(node.wsUrl, viewer);
    await watcher.request({ type: 'subscribe', room: 'heartbeat' });
    const silent = new RawClient(node.wsUrl, { token: operator, autoPong: false });
    const welcome = await silent.next((f) => f.type === 'welcome');
    await silent.request({ type: 'subscribe', room: 'heartbeat' });
    await watcher.next((f) => f.type === 'presence' && f.action === 'join' && f.user === welcome.user);
    const firstPing = await new Promise<number>((resolve) => silent.ws.once('ping', () => resolve(Date.now())));
    await watcher.next((f) => f.type === 'presence' && f.action === 'leave' && f.user === welcome.user, 3 * PING_MS + 1000);
    const leftAfter = Date.now() - firstPing;
    expect(leftAfter).toBeLessThanOrEqual(2 * PING_MS + 150);
    await silent.closed;
    // A client that answers keeps its connection across many intervals: three more pings, counted.
    let pings = 0;
    watcher.ws.on('ping', () => (pings += 1));
    await until(() => pings >= 3, 10 * PING_MS + 2000, 'three pings');
    expect(watcher.ws.readyState).toBe(watcher.ws.OPEN);
    watcher.close();
  });

  it("limits inbound frames by the key's tier, on the budget its HTTP requests spend, with coded errors and the connection kept", async () => {
    expect((await node.op('ratelimit.tiers.save', { tier: { name: 'ws-twenty', limit: 20, windowSeconds: 60, burst: 0 } })).status).toBe(
      200,
    );
    const created = await node.op('keys.create', { name: 'on-twenty', role: 'viewer' });
    expect((await node.op('ratelimit.keys.assign', { id: created.body.key.id, tier: 'ws-twenty' })).status).toBe(200);
    const c = await RawClient.connect(node.wsUrl, created.body.secret);
    // Five HTTP requests first: they spend the same budget as the frames.
    for (let i = 0; i < 5; i += 1) expect((await node.op('system.status', {}, created.body.secret)).status).toBe(200);
    for (let i = 0; i < 40; i += 1) c.send({ type: 'ping', id: i });
    await until(() => c.frames.filter((f) => f.type === 'pong' || f.type === 'error').length >= 40, 3000, 'answers');
    const pongs = c.take((f) => f.type === 'pong').map((f) => f.id);
    const limited = c.take((f) => f.type === 'error' && f.error.code === 'PH_RATE_LIMITED');
    expect(pongs).toEqual(Array.from({ length: 15 }, (_, i) => i));
    expect(limited).toHaveLength(25);
    expect(limited[0].error.details).toMatchObject({ tier: 'ws-twenty', retryAfterSeconds: expect.any(Number) });
    expect(limited[0].id).toBe(15);
    // The budget is spent for HTTP too, and the socket stays open.
    expect((await node.op('system.status', {}, created.body.secret)).status).toBe(429);
    expect(c.ws.readyState).toBe(c.ws.OPEN);
    c.close();
  });

  it('an admin key is on the unlimited tier: a burst of frames is answered in full', async () => {
    const c = await RawClient.connect(node.wsUrl, node.adminKey);
    for (let i = 0; i < 500; i += 1) c.send({ type: 'ping', id: i });
    await until(() => c.frames.filter((f) => f.type === 'pong' || f.type === 'error').length >= 500, 5000, 'answers');
    expect(c.take((f) => f.type === 'pong').map((f) => f.id)).toEqual(Array.from({ length: 500 }, (_, i) => i));
    expect(c.frames.filter((f) => f.type === 'error')).toHaveLength(0);
    c.close();
  });

  it('closes a connection that sends a frame over maxPayload with 1009', async () => {
    const c = await RawClient.connect(node.wsUrl, viewer);
    c.send(JSON.stringify({ type: 'ping', pad: 'x'.repeat(70 * 1024) }));
    expect((await c.closed).code).toBe(1009);
  });

  it('resends an ack-required message until the client acks it, then stops', async () => {
    const c = await RawClient.connect(node.wsUrl, viewer);
    await c.request({ type: 'subscribe', room: 'acked' });
    const pub = client(node.wsUrl, operator);
    const { mid } = await pub.publish('acked', 'important', { ack: true });
    await until(() => c.frames.filter((f) => f.type === 'message' && f.mid === mid).length >= 3, 2000, 'three deliveries');
    const copies = c.take((f) => f.type === 'message' && f.mid === mid);
    expect(copies[0]).toMatchObject({ ack: true, data: 'important', offset: 1 });
    expect(new Set(copies.map((f) => f.offset))).toEqual(new Set([1]));
    c.send({ type: 'ack', mid });
    // Frames are handled in order: once the ping after the ack is answered, the ack has been taken,
    // and any resend sent before it has already arrived (one socket, in order).
    await c.request({ type: 'ping' });
    c.frames.length = 0;
    // A second message nobody acks runs out its deadline. The retry pass that gives it up would have
    // given up the first one too (its deadline is earlier) had the ack not removed it: the counter
    // moves by one, not two, and no copy of the first arrived meanwhile.
    const expiredBefore = (await hub().stats()).totals.ackExpired;
    await pub.publish('acked', 'marker', { ack: true });
    await until(async () => (await hub().stats()).totals.ackExpired > expiredBefore, 5000, 'the marker to expire');
    expect((await hub().stats()).totals.ackExpired).toBe(expiredBefore + 1);
    expect(c.frames.filter((f) => f.type === 'message' && f.mid === mid)).toHaveLength(0);
    expect(c.frames.filter((f) => f.type === 'message' && f.data === 'marker').length).toBeGreaterThanOrEqual(2);
    c.close();
    pub.close();
  });

  it('gives up on an unacknowledged message at its deadline and counts it', async () => {
    const before = (await hub().stats()).totals.ackExpired;
    const c = await RawClient.connect(node.wsUrl, viewer);
    await c.request({ type: 'subscribe', room: 'never-acked' });
    await hub().publish('never-acked', 'x', { caller: systemCaller, ack: true });
    await until(async () => (await hub().stats()).totals.ackExpired > before, 5000, 'the deadline');
    expect((await hub().stats()).totals.ackExpired).toBe(before + 1);
    await c.request({ type: 'ping' }); // every copy sent before the give-up has arrived
    const count = c.take((f) => f.type === 'message').length;
    expect(count).toBeGreaterThanOrEqual(3);
    expect(count).toBeLessThanOrEqual(12);
    // Resends of a second message prove the retry passes go on; none of them resends the first.
    await hub().publish('never-acked', 'y', { caller: systemCaller, ack: true });
    await until(() => c.frames.filter((f) => f.type === 'message' && f.data === 'y').length >= 3, 5000, 'three copies of the second');
    expect(c.frames.filter((f) => f.type === 'message' && f.data === 'x')).toHaveLength(0);
    c.close();
  });

  it('the client library acks for you and hands each message over once', async () => {
    const sub = client(node.wsUrl, viewer);
    const got: unknown[] = [];
    sub.on('message', (m) => got.push(m.data));
    await sub.subscribe('lib-acked');
    const pub = client(node.wsUrl, operator);
    // A raw subscriber that never acks: its copies expire at the deadline, and a copy the library
    // left unacked would expire with them, so the counter moves by exactly five.
    const raw = await RawClient.connect(node.wsUrl, viewer);
    await raw.request({ type: 'subscribe', room: 'lib-acked' });
    const expiredBefore = (await hub().stats()).totals.ackExpired;
    for (let i = 0; i < 5; i += 1) await pub.publish('lib-acked', i, { ack: true });
    await until(async () => (await hub().stats()).totals.ackExpired >= expiredBefore + 5, 5000, 'the raw copies to expire');
    expect((await hub().stats()).totals.ackExpired).toBe(expiredBefore + 5);
    expect(raw.frames.filter((f) => f.type === 'message').length).toBeGreaterThan(5); // it was resent to
    expect(got).toEqual([0, 1, 2, 3, 4]);
    raw.close();
    sub.close();
    pub.close();
  });
});
