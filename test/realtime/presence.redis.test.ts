import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type TestRedis } from '../helpers/redis-server';
import { RawClient, knownOn, startChildNode, startNode, until, type Node } from './helpers';

const PING_MS = 300;

describe('presence metadata across nodes', () => {
  let redis: TestRedis;
  let a: Node;
  let c: Node;
  let viewer: string;
  beforeAll(async () => {
    redis = await startRedis();
    // A short ping: presence entries of a killed node expire within 3 pings.
    a = await startNode({ config: { redisUrl: redis.url }, realtime: { node: 'node-a', pingIntervalMs: PING_MS } });
    c = await startNode({ config: { redisUrl: redis.url }, realtime: { node: 'node-c', pingIntervalMs: PING_MS } });
    viewer = await a.key('viewer', 'watcher');
  });
  afterAll(async () => {
    await c?.stop();
    await a?.stop();
    await redis?.stop();
  });

  /** A key made on node a, once node c knows it too (keys are fleet-wide through Redis). */
  async function fleetKey(name: string, urls: readonly string[] = [c.url]): Promise<string> {
    const key = await a.key('viewer', name);
    await knownOn(urls, key);
    return key;
  }

  it('sends an update when the metadata a member is listed with changes: the node that set it lets them go while another holds them', async () => {
    const watcher = await RawClient.connect(a.wsUrl, viewer);
    await watcher.request({ type: 'subscribe', room: 'meta-moves' });
    const dana = await fleetKey('dana');
    const firstA = await RawClient.connect(a.wsUrl, dana);
    const secondA = await RawClient.connect(a.wsUrl, dana);
    const thirdC = await RawClient.connect(c.wsUrl, dana);
    await firstA.request({ type: 'subscribe', room: 'meta-moves', presence: { v: 'first-A' } });
    const join = await watcher.next((f) => f.type === 'presence' && f.action === 'join' && f.meta?.v === 'first-A');
    await secondA.request({ type: 'subscribe', room: 'meta-moves', presence: { v: 'second-A' } });
    await thirdC.request({ type: 'subscribe', room: 'meta-moves', presence: { v: 'third-C' } });
    // Node a took dana in first: the list shows its metadata, whichever node answers.
    for (const node of [a, c]) {
      const listed = await node.op('realtime.presence', { room: 'meta-moves' }, viewer);
      expect(listed.body.members).toEqual(expect.arrayContaining([{ user: join.user, meta: { v: 'first-A' } }]));
    }
    firstA.close();
    secondA.close();
    const update = await watcher.next((f) => f.type === 'presence' && f.user === join.user && f.action !== 'join');
    expect(update).toEqual({ type: 'presence', room: 'meta-moves', action: 'update', user: join.user, meta: { v: 'third-C' } });
    expect((await watcher.request({ type: 'presence', room: 'meta-moves' })).result.members).toEqual(
      expect.arrayContaining([{ user: join.user, meta: { v: 'third-C' } }]),
    );
    // Once each: the join, then the update; neither the second connection nor node c's join said anything.
    expect(watcher.frames.filter((f) => f.type === 'presence' && f.user === join.user)).toEqual([]);
    thirdC.close();
    await watcher.next((f) => f.type === 'presence' && f.user === join.user && f.action === 'leave');
    watcher.close();
  });

  it('removes fields planted in the presence hash on the next refresh, and writes back a member whose own field was overwritten', async () => {
    const frank = await fleetKey('frank');
    const socket = await RawClient.connect(a.wsUrl, frank);
    await socket.request({ type: 'subscribe', room: 'planted', presence: { name: 'Frank' } });
    const hash = 'ph:rt:{planted}:p';
    const intruder = redis.client();
    const [user] = await intruder.hkeys(hash);
    await intruder.hset(hash, 'key:deadbeef', 'xx', user!, '{"n":"planted"}');
    await until(async () => (await intruder.hkeys(hash)).join() === user, 3_000, 'the planted fields removed');
    const listed = await c.op('realtime.presence', { room: 'planted' }, viewer);
    expect(listed.body.members).toEqual([{ user, meta: {} }]);
    socket.close();
    await until(async () => (await intruder.hlen(hash)) === 0, 3_000, 'frank gone');
  });

  it('sends an update when the node whose metadata a member is listed with is killed and its entries expire, while another node holds them', async () => {
    const doomed = await startChildNode(redis.url, PING_MS);
    try {
      const watcher = await RawClient.connect(a.wsUrl, viewer);
      await watcher.request({ type: 'subscribe', room: 'meta-expires' });
      const erin = await fleetKey('erin', [doomed.url]);
      const onDoomed = await RawClient.connect(doomed.wsUrl, erin);
      await onDoomed.request({ type: 'subscribe', room: 'meta-expires', presence: { on: 'doomed' } });
      const join = await watcher.next((f) => f.type === 'presence' && f.action === 'join' && f.meta?.on === 'doomed');
      const onA = await RawClient.connect(a.wsUrl, erin);
      await onA.request({ type: 'subscribe', room: 'meta-expires', presence: { on: 'a' } });
      doomed.child.kill('SIGKILL');
      const update = await watcher.next((f) => f.type === 'presence' && f.user === join.user && f.action !== 'join', 5000);
      expect(update).toEqual({ type: 'presence', room: 'meta-expires', action: 'update', user: join.user, meta: { on: 'a' } });
      expect((await watcher.request({ type: 'presence', room: 'meta-expires' })).result.members).toEqual(
        expect.arrayContaining([{ user: join.user, meta: { on: 'a' } }]),
      );
      onA.close();
      watcher.close();
    } finally {
      doomed.kill();
    }
  });
});
