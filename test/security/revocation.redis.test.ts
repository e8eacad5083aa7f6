import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type TestRedis } from '../helpers/redis-server';
import { until } from '../helpers/until';
import { RawClient, startNode, type Node } from '../realtime/helpers';

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

  it('closes a signed-out session’s socket on the other node', async () => {
    const res = await fetch(`${a.url}/api/v2/session`, { method: 'POST', headers: { authorization: `Bearer ${a.adminKey}` } });
    const { token } = (await res.json()) as { token: string };
    const onB = await RawClient.connect(b.wsUrl, token);
    expect(await a.op('sessions.logout', {}, token)).toMatchObject({ status: 200, body: { ended: true } });
    expect((await onB.closed).code).toBe(1008);
  });
});
