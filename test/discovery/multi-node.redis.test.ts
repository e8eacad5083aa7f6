import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventMessage } from '../../contract/events';
import { startRedis, type TestRedis } from '../helpers/redis-server';
import { discoveryPlane, sleep, upstream, waitFor, type DiscoveryPlane, type Upstream } from './helpers';

describe('one registry shared by nodes on one Redis', () => {
  let redis: TestRedis;
  let a: DiscoveryPlane;
  let b: DiscoveryPlane;
  let up: Upstream;
  const eventsOnB: EventMessage[] = [];
  const interval = 1_500;

  beforeAll(async () => {
    redis = await startRedis();
    const options = { discovery: { redisSync: { heartbeatMs: 100, nodeTtlMs: 400 } } };
    a = await discoveryPlane({ redisUrl: redis.url }, options);
    b = await discoveryPlane({ redisUrl: redis.url }, options);
    b.plane.running.bus.subscribe((m) => eventsOnB.push(m));
    up = await upstream('shared');
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

  it('shows an instance registered on one node on the other, with maintenance and deregistration', async () => {
    await a.op('services.register', { name: 'shared', id: 'shared-1', address: '127.0.0.1', port: up.port, tags: ['x'] });
    const onB = await waitFor(async () => (await b.op('services.list', { name: 'shared' })).body.instances[0], 3_000, 'instance on B');
    expect(onB).toMatchObject({ id: 'shared-1', state: 'passing', tags: ['x'] });
    expect(eventsOnB.some((e) => e.event === 'service.registered' && e.payload.id === 'shared-1')).toBe(true);
    await b.op('services.maintenance', { id: 'shared-1', enabled: true, reason: 'from B' });
    await waitFor(
      async () => (await a.op('services.get', { id: 'shared-1' })).body.instance.state === 'maintenance',
      3_000,
      'maintenance on A',
    );
    await a.op('services.deregister', { id: 'shared-1' });
    await waitFor(async () => (await b.op('services.get', { id: 'shared-1' })).status === 404, 3_000, 'gone from B');
  });

  // Three instances each node owns: node ids are random, so six fixed ids would all hash to one node one run in 64.
  const checked: number[] = [];

  it('runs each check on exactly one live node, and both nodes see its status', async () => {
    const syncA = a.plane.running.discovery.sync!;
    const syncB = b.plane.running.discovery.sync!;
    const ownedByA = (i: number) => syncA.owns(`c-${i}`);
    for (let i = 0; checked.length < 6 && i < 500; i += 1) {
      const sameSide = checked.filter((j) => ownedByA(j) === ownedByA(i)).length;
      if (sameSide < 3) checked.push(i);
    }
    expect(checked).toHaveLength(6);
    for (const i of checked) {
      await a.op('services.register', {
        name: 'checked',
        id: `c-${i}`,
        address: '127.0.0.1',
        port: up.port,
        checks: [{ kind: 'http', url: `${up.url}/health?i=${i}`, intervalMs: interval, jitter: 0, failuresBeforeCritical: 1 }],
      });
    }
    for (const i of checked) expect(syncA.owns(`c-${i}`)).not.toBe(syncB.owns(`c-${i}`));
    await waitFor(
      async () => (await b.op('services.list', { name: 'checked', state: 'passing' })).body.instances.length === 6,
      5_000,
      'all passing on B',
    );
    const from = up.requests.length;
    const started = Date.now();
    await sleep(4_600);
    const windowMs = Date.now() - started;
    const perInstance = new Map<string, number>();
    for (const r of up.requests.slice(from)) perInstance.set(r.url, (perInstance.get(r.url) ?? 0) + 1);
    for (const i of checked) {
      const n = perInstance.get(`/health?i=${i}`) ?? 0;
      // One node at one check per interval: about three runs in the window, never the six two nodes would make.
      expect(n).toBeGreaterThanOrEqual(2);
      expect(n).toBeLessThanOrEqual(Math.ceil(windowMs / interval) + 1);
    }
  });

  it("moves a dead node's checks to a survivor within two check intervals", async () => {
    const syncA = a.plane.running.discovery.sync!;
    const owned = checked.map((i) => `c-${i}`).filter((id) => syncA.owns(id));
    expect(owned).toHaveLength(3);
    // A crashes: no goodbye, its liveness key is left to expire.
    syncA.halt();
    a.plane.running.discovery.checker.stop();
    const diedAt = Date.now();
    const urls = new Set(owned.map((id) => `/health?i=${id.slice(2)}`));
    const firstAfter = new Map<string, number>();
    await waitFor(
      () => {
        for (const r of up.requests) if (r.at > diedAt && urls.has(r.url) && !firstAfter.has(r.url)) firstAfter.set(r.url, r.at);
        return firstAfter.size === urls.size;
      },
      4 * interval,
      "every dead node's check running again",
    );
    for (const at of firstAfter.values()) expect(at - diedAt).toBeLessThanOrEqual(2 * interval);
    expect(b.plane.running.discovery.sync!.liveNodes).toHaveLength(1);
  });
});
