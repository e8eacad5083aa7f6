import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type TestRedis } from '../helpers/redis-server';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';
import { until } from '../helpers/until';

describe('the persisted-query allow-list is fleet-wide', () => {
  let redis: TestRedis;
  let nodes: [TestPlane, TestPlane];

  const post = async (node: TestPlane, query: string, key: string) => {
    const res = await fetch(`${node.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ query }),
    });
    return { status: res.status, body: (await res.json()) as any };
  };

  beforeAll(async () => {
    redis = await startRedis();
    const options = { fleet: { checkIntervalMs: 200 } };
    const first = await startTestPlane({ redisUrl: redis.url }, options);
    nodes = [first, await startTestPlane({ redisUrl: redis.url }, options)];
  });
  afterAll(async () => {
    for (const node of nodes ?? []) await node?.stop();
    await redis?.stop();
  });

  it('holds a viewer on node 2 to the queries an admin saved and switched on at node 1', async () => {
    const [n1, n2] = nodes;
    const viewer = (await n1.op('keys.create', { name: 'viewer', role: 'viewer' })).body.secret;
    const allowed = '{ system { status { mode } } }';
    const saved = await n1.op('graphql.persisted.save', { name: 'mode', query: allowed });
    expect(saved.status).toBe(200);
    expect((await n1.op('graphql.persisted.enforce', { enabled: true })).body).toEqual({ enforced: true });

    await until(async () => (await post(n2, '{ jobs { stats { backend } } }', viewer)).status === 403, 5000, 'node 2 to enforce the list');
    const refused = await post(n2, '{ jobs { stats { backend } } }', viewer);
    expect(refused.body.errors[0].extensions.code).toBe('PH_GRAPHQL_NOT_PERSISTED');
    expect((await post(n2, allowed, viewer)).body.data.system.status.mode).toBe('HEADLESS');
    expect((await n2.op('graphql.persisted.list')).body.queries.map((q: { hash: string }) => q.hash)).toEqual([saved.body.query.hash]);
  });
});
