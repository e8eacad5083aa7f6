import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type TestRedis } from '../helpers/redis-server';
import { discoveryPlane, upstream, waitFor, type DiscoveryPlane, type Upstream } from './helpers';

/** A host name of exactly 253 characters: its default id is longer than an id may be. */
const LONGEST_NAME = [...Array.from({ length: 3 }, (_, i) => `${'h'.repeat(62)}${i}`), `${'t'.repeat(60)}z`].join('.');

describe('two nodes agree on what the registry holds and shows', () => {
  let redis: TestRedis;
  let a: DiscoveryPlane;
  let b: DiscoveryPlane;
  let up: Upstream;

  beforeAll(async () => {
    redis = await startRedis();
    const options = { discovery: { redisSync: { heartbeatMs: 100, nodeTtlMs: 400 } } };
    a = await discoveryPlane({ redisUrl: redis.url }, options);
    b = await discoveryPlane({ redisUrl: redis.url }, options);
    up = await upstream('fleet');
    up.status = 500;
    await waitFor(
      () => a.plane.running.discovery.sync?.liveNodes.length === 2 && b.plane.running.discovery.sync?.liveNodes.length === 2,
      5_000,
      'both nodes live',
    );
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await up?.close();
    await redis?.stop();
  });

  it('replicates an instance whose default id had to be shortened, so both nodes hold and can remove it', async () => {
    const res = await a.op('services.register', { name: 'long', address: LONGEST_NAME, port: 7566 });
    expect(res.status).toBe(200);
    const id = res.body.instance.id as string;
    await waitFor(async () => (await b.op('services.get', { id })).status === 200, 3_000, 'the instance on B');
    expect((await b.op('services.deregister', { id })).status).toBe(200);
    await waitFor(async () => (await a.op('services.get', { id })).status === 404, 3_000, 'gone from A');
  });

  it("shows a check's first result on the node that does not run it, though its status never changed", async () => {
    const syncA = a.plane.running.discovery.sync!;
    for (const id of ['first-1', 'first-2']) {
      await a.op('services.register', {
        name: 'first',
        id,
        address: '127.0.0.1',
        port: up.port,
        checks: [{ kind: 'http', url: `${up.url}/health?id=${id}`, intervalMs: 60_000, jitter: 0 }],
      });
    }
    for (const id of ['first-1', 'first-2']) {
      const other = syncA.owns(id) ? b : a;
      const check = await waitFor(
        async () => {
          const c = (await other.op('services.get', { id })).body.instance?.checks[0];
          return c?.output !== undefined && c.output !== 'Not checked yet' ? c : null;
        },
        4_000,
        `the first result of ${id} on the node that does not run it`,
      );
      expect(check.status).toBe('critical');
      expect(check.output).toMatch(/500/);
      expect(check.checkedAt).not.toBeNull();
    }
  });

  it("answers a watch at once when its index is ahead of this node's (an index from another node)", async () => {
    const current = (await b.op('services.list', {})).body.index as number;
    const started = performance.now();
    const res = await b.op('services.watch', { index: current + 50, waitMs: 5_000 });
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(res.body).toMatchObject({ index: current, changed: true });
  });
});
