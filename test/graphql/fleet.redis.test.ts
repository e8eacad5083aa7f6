import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startRedis, type TestRedis } from '../helpers/redis-server';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';
import { until } from '../helpers/until';

describe('GraphQL in a fleet: the allow-list and the event stream are fleet-wide', () => {
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
    // Only node 2 runs this job type, so its progress must cross to node 1's subscriber.
    const runner = nodes[1];
    runner.plane.running.batch.queue.register('test.report', async (_payload, ctx) => {
      ctx.progress(0.5, `half way on ${runner.plane.nodeId}`);
      return 'done';
    });
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

  it('streams to a subscriber on node 1 the progress of a job enqueued at node 2', async () => {
    const [n1, n2] = nodes;
    const client = createClient({
      url: `${n1.url.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${n1.adminKey}` },
      retryAttempts: 0,
    });
    try {
      const received: { id: string; message: string }[] = [];
      client.subscribe(
        { query: 'subscription { jobsProgress(type: "test.report") { id message } }' },
        { next: (value) => void received.push((value.data as any).jobsProgress), error: () => undefined, complete: () => undefined },
      );
      await new Promise((resolve, reject) =>
        client.subscribe({ query: '{ system { status { mode } } }' }, { next: resolve, error: reject, complete: () => undefined }),
      );
      const job = (await n2.op('jobs.enqueue', { type: 'test.report' })).body.job;
      await until(() => received.some((p) => p.id === job.id), 10_000, 'the progress of the job enqueued at node 2');
      expect(received.find((p) => p.id === job.id)?.message).toBe(`half way on ${n2.plane.nodeId}`);
    } finally {
      await client.dispose();
    }
  });
});
