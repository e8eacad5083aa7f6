import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';
import { startRedis, type TestRedis } from '../helpers/redis-server';
import { until } from '../helpers/until';

describe('rate limits across a fleet on one Redis', () => {
  let redis: TestRedis;
  let a: TestPlane;
  let b: TestPlane;
  let secret: string;
  let keyId: string;
  const call = (plane: TestPlane) => fetch(`${plane.url}/api/v2/status`, { headers: { authorization: `Bearer ${secret}` } });
  beforeAll(async () => {
    redis = await startRedis();
    a = await startTestPlane({ redisUrl: redis.url });
    b = await startTestPlane({ redisUrl: redis.url });
    const created = (await a.op('keys.create', { name: 'shared', role: 'operator' })).body as { key: { id: string }; secret: string };
    secret = created.secret;
    // Keys are fleet-wide: node B learns the key from Redis within a second.
    await until(async () => (await call(b)).status === 200, 5_000, 'the key on node b');
    expect((await a.op('ratelimit.tiers.save', { tier: { name: 'shared-five', limit: 5, windowSeconds: 60, burst: 0 } })).status).toBe(200);
    expect((await a.op('ratelimit.keys.assign', { id: created.key.id, tier: 'shared-five' })).status).toBe(200);
    keyId = created.key.id;
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await redis?.stop();
  });

  it('shares a tier made and assigned on one node with the other', async () => {
    await until(
      async () => {
        const tiers = (await b.op('ratelimit.tiers')).body as { tiers: { name: string }[]; keys: { keyId: string; tier: string }[] };
        return tiers.tiers.some((t) => t.name === 'shared-five') && tiers.keys.find((k) => k.keyId === keyId)?.tier === 'shared-five';
      },
      10_000,
      'the tier on node b',
    );
  });

  it('spends one key budget across two nodes: five calls split between them pass, the sixth on either is refused', async () => {
    const statuses: number[] = [];
    for (const plane of [a, b, a, b, a, b, a]) statuses.push((await call(plane)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
    expect((await a.op('ratelimit.tiers')).body.backend).toBe('redis');
  });

  it('counts locally when Redis goes away, without hanging, and says so in health', async () => {
    await redis.kill();
    await until(() => a.plane.running.rateLimits.backend() === 'memory (Redis unreachable)', 5_000, 'the client to notice');
    const started = Date.now();
    const res = await call(a);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(res.headers.get('ratelimit-policy')).toBe('"shared-five";q=5;w=60');
    const health = (await a.op('monitoring.health', { refresh: true })).body as {
      dependencies: { name: string; status: string; detail: string }[];
    };
    expect(health.dependencies.find((d) => d.name === 'ratelimit')).toMatchObject({ status: 'degraded' });
  });
});
