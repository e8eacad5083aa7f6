import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { RateLimits, batchCap } from '../../main/ratelimit';
import { startRedis, type TestRedis } from '../helpers/redis-server';

/** Calls of our reservation script so far (each is one round trip). */
async function reservations(client: Redis): Promise<number> {
  const stats = await client.info('commandstats');
  return [...stats.matchAll(/cmdstat_(?:evalsha|eval):calls=(\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
}

describe('a fleet budget reserved in batches', () => {
  let redis: TestRedis;
  const clients: Redis[] = [];
  /** One node's limiter, on its own connection once it is ready (as the control plane hands it over). */
  const node = async (): Promise<RateLimits> => {
    const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    clients.push(client);
    await client.ping();
    return new RateLimits(client);
  };
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await redis?.stop();
  });

  it('asks Redis once a batch, not once a request, and decides a request with allowance left without waiting', async () => {
    const tier = { name: 'busy', limit: 100_000, windowSeconds: 60, burst: 0 };
    expect(batchCap(tier)).toBe(1_000);
    const limits = await node();
    await limits.consume('key:a', tier);
    const before = await reservations(redis.client());
    let withoutWaiting = 0;
    for (let i = 0; i < 5_000; i += 1) {
      if (limits.tryConsume('key:a', tier) !== null) withoutWaiting += 1;
      else expect((await limits.consume('key:a', tier)).allowed).toBe(true);
    }
    const trips = (await reservations(redis.client())) - before;
    // 2, 4, … 512, then batches of 1,000: about a dozen trips for 5,000 requests.
    expect(trips).toBeLessThan(20);
    expect(withoutWaiting).toBeGreaterThan(4_900);
    // Redis has counted what was reserved: what was spent, plus at most one batch held here.
    const counted = Number(await redis.client().get('ph:rl:busy:{key:a}'));
    expect(counted).toBeGreaterThanOrEqual(5_001);
    expect(counted).toBeLessThanOrEqual(5_001 + batchCap(tier));
    expect(limits.backend()).toBe('redis');
  });

  it('never admits more than the limit across two nodes, and refuses at most one batch early per other node', async () => {
    const tier = { name: 'shared', limit: 1_000, windowSeconds: 60, burst: 0 };
    const cap = batchCap(tier);
    expect(cap).toBe(20);
    const [a, b] = await Promise.all([node(), node()]);
    let admitted = 0;
    let firstRefusalAt: number | null = null;
    const call = async (limits: RateLimits, n: number) => {
      const decision = limits.tryConsume('key:k', tier) ?? (await limits.consume('key:k', tier));
      if (decision.allowed) admitted += 1;
      else firstRefusalAt ??= n;
    };
    // Both nodes at once, the way two nodes behind a balancer see one busy client.
    for (let n = 0; n < 1_500; n += 2) await Promise.all([call(a, n), call(b, n + 1)]);
    expect(admitted).toBeLessThanOrEqual(tier.limit);
    expect(admitted).toBeGreaterThanOrEqual(tier.limit - cap);
    expect(firstRefusalAt).toBeGreaterThanOrEqual(tier.limit - cap);
    const refused = a.tryConsume('key:k', tier) ?? (await a.consume('key:k', tier));
    expect(refused).toMatchObject({ allowed: false, remaining: 0 });
    expect(refused.resetSeconds).toBeGreaterThan(0);
  });

  it('spends the burst after the limit, fleet-wide, and then refuses without asking Redis again', async () => {
    const tier = { name: 'bursty', limit: 4, windowSeconds: 60, burst: 2 };
    const [a, b] = await Promise.all([node(), node()]);
    const statuses: boolean[] = [];
    for (const limits of [a, b, a, b, a, b, a, b])
      statuses.push((limits.tryConsume('key:z', tier) ?? (await limits.consume('key:z', tier))).allowed);
    expect(statuses).toEqual([true, true, true, true, true, true, false, false]);
    const before = await reservations(redis.client());
    expect(a.tryConsume('key:z', tier)).toMatchObject({ allowed: false });
    expect(await reservations(redis.client())).toBe(before + 0);
  });
});
