import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type TestRedis } from '../helpers/redis-server';
import { startNode, type CacheNode } from './cache-fixture';

let redis: TestRedis;
let shared: Redis | undefined;
let node: CacheNode | undefined;

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});
afterEach(async () => {
  await node?.remove();
  shared?.disconnect();
});

/** Holds this process's event loop, as a long synchronous step of our own would. */
function stallLoop(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

describe("the cache's Redis breaker and this node's own stalls", () => {
  it('does not open when the commands time out only because our own event loop was held past their timeout', async () => {
    shared = new Redis(redis.url, { lazyConnect: true });
    node = await startNode({ redis: shared, cache: { redisCommandTimeoutMs: 50, breakerResetMs: 300 } });
    const ns = node.cache.namespace('stall');
    for (let i = 0; i < 10; i += 1) await ns.set(`k${i}`, i);
    const failuresBefore = node.cache.redisState().failures;
    for (let round = 0; round < 5; round += 1) {
      // Reads that must go to Redis (not in L1), then a stall longer than their timeout before their replies are read.
      for (let i = 0; i < 10; i += 1) ns.lru.delete(`k${i}`);
      const reads = Array.from({ length: 10 }, (_, i) => ns.get(`k${i}`).catch(() => null));
      stallLoop(250);
      await Promise.all(reads);
    }
    // Redis answered every command in time; our loop did not read the replies before the timers fired.
    expect(node.cache.redisState()).toMatchObject({ state: 'up', breakerOpens: 0 });
    expect(node.cache.redisState().failures).toBe(failuresBefore);
    // And the cache still reads through L2 afterwards.
    ns.lru.delete('k3');
    expect(await ns.get('k3')).toBe(3);
  });
});
