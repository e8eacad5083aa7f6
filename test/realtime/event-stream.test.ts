import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { RealtimeClient } from '../../main/realtime/client';
import { startRedis } from '../helpers/redis-server';
import { RawClient, knownOn, startNode, until, type Node } from './helpers';

// The console's event stream moved from main/http/event-socket.ts into the hub: same path, same
// auth options, same frames. These tests pin that contract.
describe('console event stream on /ws', () => {
  let node: Node;
  beforeAll(async () => {
    node = await startNode();
  });
  afterAll(async () => {
    await node.stop();
  });

  it('welcomes a client that authenticates with an Authorization header, with its role', async () => {
    const c = new RawClient(node.wsUrl, { token: node.adminKey });
    const welcome = await c.next((f) => f.type === 'welcome');
    expect(welcome).toMatchObject({ type: 'welcome', role: 'admin' });
    expect(typeof welcome.session).toBe('string');
    c.close();
  });

  it('welcomes a browser-style client that sends {"type":"auth","token"} first, and accepts session tokens', async () => {
    const res = await fetch(`${node.url}/api/v2/session`, { method: 'POST', headers: { authorization: `Bearer ${node.adminKey}` } });
    const { token } = (await res.json()) as { token: string };
    const c = new RawClient(node.wsUrl);
    await c.opened;
    c.send({ type: 'auth', token });
    expect(await c.next((f) => f.type === 'welcome')).toMatchObject({ role: 'admin' });
    c.close();
  });

  it('refuses a bad token with a coded error frame and close 1008', async () => {
    const c = new RawClient(node.wsUrl);
    await c.opened;
    c.send({ type: 'auth', token: 'ph_nope_nope' });
    expect(await c.next((f) => f.type === 'error')).toMatchObject({ error: { code: 'PH_UNAUTHENTICATED' } });
    expect((await c.closed).code).toBe(1008);
  });

  it('refuses a connection whose first frame is not auth', async () => {
    const c = new RawClient(node.wsUrl);
    await c.opened;
    c.send({ type: 'subscribe', room: 'x' });
    expect(await c.next((f) => f.type === 'error')).toMatchObject({ error: { code: 'PH_UNAUTHENTICATED' } });
    expect((await c.closed).code).toBe(1008);
  });

  it('delivers bus events as {"type":"event","event","payload"} frames to connections that follow them, filtered by role', async () => {
    const viewer = await RawClient.connect(node.wsUrl, await node.key('viewer'));
    const admin = await RawClient.connect(node.wsUrl, node.adminKey);
    const followed = await viewer.request({ type: 'events' });
    expect(followed.result.events).toContain('service.state');
    expect(followed.result.events).not.toContain('audit.appended');
    await admin.request({ type: 'events' });
    // A mutating operation appends to the audit log: audit.appended needs the operator role.
    await node.op('keys.create', { name: 'made-for-audit', role: 'viewer' });
    const event = await admin.next((f) => f.type === 'event' && f.event === 'audit.appended');
    expect(event.payload).toMatchObject({ action: 'keys.create', target: expect.any(String), outcome: 'ok' });
    node.plane.running.bus.publish('service.state', { name: 'probe', state: 'running' });
    expect(await viewer.next((f) => f.type === 'event' && f.event === 'service.state' && f.payload.name === 'probe')).toEqual({
      type: 'event',
      event: 'service.state',
      payload: { name: 'probe', state: 'running' },
    });
    expect(viewer.frames.some((f) => f.event === 'audit.appended')).toBe(false);
    viewer.close();
    admin.close();
  });

  it('sends no console events to a connection that did not ask, only the named ones to one that named them, and none after []', async () => {
    const quiet = await RawClient.connect(node.wsUrl, node.adminKey);
    const picky = await RawClient.connect(node.wsUrl, node.adminKey);
    const all = await RawClient.connect(node.wsUrl, node.adminKey);
    expect((await picky.request({ type: 'events', events: ['service.state'] })).result.events).toEqual(['service.state']);
    await all.request({ type: 'events' });
    const bus = node.plane.running.bus;
    bus.publish('jobs.progress', { id: 'probe/1', type: 'probe', progress: 0.5, message: null });
    bus.publish('service.state', { name: 'marker', state: 'running' });
    await all.next((f) => f.type === 'event' && f.event === 'service.state' && f.payload.name === 'marker');
    await picky.next((f) => f.type === 'event' && f.event === 'service.state' && f.payload.name === 'marker');
    // Both events left the bus together, so by now either connection would have had the first one.
    expect(all.frames.some((f) => f.type === 'event' && f.event === 'jobs.progress' && f.payload.id === 'probe/1')).toBe(true);
    expect(picky.frames.some((f) => f.type === 'event' && f.event === 'jobs.progress')).toBe(false);
    expect(quiet.frames.some((f) => f.type === 'event')).toBe(false);

    await picky.request({ type: 'events', events: [] });
    bus.publish('service.state', { name: 'after-stop', state: 'running' });
    await all.next((f) => f.type === 'event' && f.event === 'service.state' && f.payload.name === 'after-stop');
    expect(picky.frames.some((f) => f.type === 'event' && f.payload?.name === 'after-stop')).toBe(false);

    const unknown = await picky.request({ type: 'events', events: ['no.such.event'] });
    expect(unknown).toMatchObject({ type: 'error', error: { code: 'PH_INVALID_INPUT', field: 'events.0' } });
    for (const c of [quiet, picky, all]) c.close();
  });

  it('answers ping frames with pong and unknown frames with PH_INVALID_INPUT', async () => {
    const c = await RawClient.connect(node.wsUrl, node.adminKey);
    c.send({ type: 'ping', id: 7 });
    expect(await c.next((f) => f.type === 'pong')).toEqual({ type: 'pong', id: 7 });
    c.send({ type: 'teleport' });
    expect(await c.next((f) => f.type === 'error')).toMatchObject({ error: { code: 'PH_INVALID_INPUT' } });
    c.send('not json');
    expect(await c.next((f) => f.type === 'error')).toMatchObject({ error: { code: 'PH_MALFORMED_BODY' } });
    c.close();
  });

  it('answers upgrades on other paths with 404', async () => {
    const ws = new WebSocket(`${node.url.replace('http', 'ws')}/elsewhere`);
    ws.on('error', () => undefined);
    const status = await new Promise<number>((resolve) => ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
    expect(status).toBe(404);
  });

  it('tells connected clients to reconnect (close 1012) when the node stops', async () => {
    const other = await startNode();
    const c = await RawClient.connect(other.wsUrl, other.adminKey);
    await other.stop();
    expect((await c.closed).code).toBe(1012);
  });

  it('follows the same console events again after the client reconnects, here to another node', async () => {
    // Two nodes of one fleet: the first one's admin key reaches the second through Redis.
    const redis = await startRedis();
    const first = await startNode({ config: { redisUrl: redis.url } });
    const second = await startNode({ config: { redisUrl: redis.url } });
    await knownOn([second.url], first.adminKey);
    const c = new RealtimeClient({
      url: [first.wsUrl, second.wsUrl],
      token: first.adminKey,
      WebSocket: WebSocket as never,
      reconnect: { minMs: 20, maxMs: 100 },
    });
    const heard: string[] = [];
    c.on('event', (event, payload) => heard.push(`${event}:${(payload as { name?: string }).name ?? ''}`));
    expect(await c.followEvents(['service.state'])).toEqual(['service.state']);
    first.plane.running.bus.publish('service.state', { name: 'on-first', state: 'running' });
    await until(() => heard.includes('service.state:on-first'));
    const welcomed = new Promise((resolve) => c.on('welcome', resolve));
    await first.plane.stop();
    await welcomed;
    await until(async () => {
      second.plane.running.bus.publish('service.state', { name: 'on-second', state: 'running' });
      return heard.includes('service.state:on-second');
    });
    expect(heard.every((h) => h.startsWith('service.state:'))).toBe(true);
    c.close();
    await second.stop();
    await first.stop();
    await redis.stop();
  });
});
