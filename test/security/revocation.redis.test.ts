import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type TestRedis } from '../helpers/redis-server';
import { until } from '../helpers/until';
import { RawClient, startNode, type Node } from '../realtime/helpers';
import { HostileWs } from './hostile-ws';

async function session(node: Node, key: string): Promise<string> {
  const res = await fetch(`${node.url}/api/v2/session`, { method: 'POST', headers: { authorization: `Bearer ${key}` } });
  return ((await res.json()) as { token: string }).token;
}

describe('revocation on a fleet of two nodes on one Redis', () => {
  let redis: TestRedis;
  let a: Node;
  let b: Node;
  beforeAll(async () => {
    redis = await startRedis();
    a = await startNode({ config: { redisUrl: redis.url }, realtime: { node: 'node-a' } });
    // Each node has its own data directory: keys and sessions are fleet-wide (docs/fleet.md).
    b = await startNode({ config: { redisUrl: redis.url }, realtime: { node: 'node-b' } });
  });
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
    await redis?.stop();
  });

  it('closes a revoked key’s socket on the other node with 1008 within a second', async () => {
    const { body } = await a.op('keys.create', { name: 'roaming', role: 'operator' });
    await until(async () => (await b.op('realtime.stats', {}, body.secret as string)).status === 200, 5_000, 'the key on node B');
    const onB = await RawClient.connect(b.wsUrl, body.secret as string);
    const bystander = await RawClient.connect(b.wsUrl, a.adminKey);

    const started = performance.now();
    expect((await a.op('keys.revoke', { id: body.key.id })).status).toBe(200);
    expect((await onB.closed).code).toBe(1008);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(await bystander.request({ type: 'ping' })).toMatchObject({ type: 'pong' });
    bystander.close();
  });

  it('closes a signed-out session’s socket on the other node within a second', async () => {
    const token = await session(a, a.adminKey);
    const onB = await RawClient.connect(b.wsUrl, token);
    const started = performance.now();
    expect(await a.op('sessions.logout', {}, token)).toMatchObject({ status: 200, body: { ended: true } });
    expect((await onB.closed).code).toBe(1008);
    expect(performance.now() - started).toBeLessThan(1000);
    expect((await b.op('system.status', {}, token)).status).toBe(401);
  });

  it('closes the other node’s socket of a revoked key’s session and refuses the frame a client that ignores the close sends there', async () => {
    const { body } = await a.op('keys.create', { name: 'program', role: 'operator' });
    await until(async () => (await b.op('realtime.stats', {}, body.secret as string)).status === 200, 5_000, 'the key on node B');
    const hostile = await HostileWs.open(b.url, await session(b, body.secret as string));

    const started = performance.now();
    expect((await a.op('keys.revoke', { id: body.key.id })).status).toBe(200);
    await until(() => hostile.closeCode() !== null, 1000, 'the close frame on node B');
    expect(performance.now() - started).toBeLessThan(1000);
    expect(hostile.closeCode()).toBe(1008);
    hostile.sendText({ type: 'publish', id: 1, room: 'after-fleet-revoke', data: 'should not land' });
    hostile.sendClose();
    await hostile.ended;
    expect(hostile.text()).not.toContain('"type":"reply"');
    expect((await b.op('realtime.history', { room: 'after-fleet-revoke' })).body).toMatchObject({ messages: [] });
    expect((await b.op('system.status', {}, body.secret as string)).status).toBe(401);
  });

  it('closes every session socket on the other node within a second when an admin rotates the signing secret, and leaves key sockets open', async () => {
    const onB = await RawClient.connect(b.wsUrl, await session(b, a.adminKey));
    const byKey = await RawClient.connect(b.wsUrl, a.adminKey);
    const started = performance.now();
    expect((await a.op('sessions.rotate', {})).status).toBe(200);
    expect((await onB.closed).code).toBe(1008);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(await byKey.request({ type: 'ping' })).toMatchObject({ type: 'pong' });
    byKey.close();
  });
});
