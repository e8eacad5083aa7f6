import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pilothouse, type WebSocketFactory } from '../../client/src';
import { systemCaller } from '../../main/core';
import { startRedis, type TestRedis } from '../helpers/redis-server';
import { knownOn, startChildNode, startNode, until, type ChildNode, type Node } from '../realtime/helpers';

describe('the typed client on a fleet of nodes', () => {
  let redis: TestRedis;
  let a: Node;
  let doomed: ChildNode;
  let key: string;
  beforeAll(async () => {
    redis = await startRedis();
    a = await startNode({ config: { redisUrl: redis.url }, realtime: { node: 'node-a' } });
    doomed = await startChildNode(redis.url);
    key = await a.key('viewer', 'fleet-program');
    // Keys are fleet-wide: the child node learns this one from Redis.
    await knownOn([doomed.url], key);
  });
  afterAll(async () => {
    doomed?.kill();
    await a?.stop();
    await redis?.stop();
  });

  it('takes a list of node URLs: after its node is killed (SIGKILL) the socket resumes on the next, with every message and no gap', async () => {
    const ph = new Pilothouse({ url: [doomed.url, a.url], apiKey: key, auth: 'key', WebSocket: WebSocket as unknown as WebSocketFactory });
    const nodes: string[] = [];
    const got: number[] = [];
    const gaps: unknown[] = [];
    ph.realtime.on('welcome', (w) => nodes.push(w.node));
    ph.realtime.on('message', (m) => got.push(m.data as number));
    ph.realtime.on('gap', (g) => gaps.push(g));
    await ph.realtime.subscribe('fleet-room');
    expect(nodes).toEqual([expect.stringMatching(/^child-/)]);
    const hub = a.plane.running.realtime;
    for (let i = 1; i <= 3; i += 1) await hub.publish('fleet-room', i, { caller: systemCaller });
    await until(() => got.length === 3, 5000, 'the first messages through the child node');

    doomed.child.kill('SIGKILL');
    const killedAt = Date.now();
    for (let i = 4; i <= 6; i += 1) await hub.publish('fleet-room', i, { caller: systemCaller });
    await until(() => nodes.length === 2, 10_000, 'the socket on the next node');
    expect(nodes[1]).toBe('node-a');
    expect(Date.now() - killedAt).toBeLessThan(5000);
    await hub.publish('fleet-room', 7, { caller: systemCaller });
    await until(() => got.length === 7, 5000, 'every message');
    expect(got).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(gaps).toEqual([]);
    await ph.close();
  });
});
