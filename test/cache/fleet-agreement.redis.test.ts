import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CacheOptions } from '../../main/cache';
import { startRedis, type TestRedis } from '../helpers/redis-server';
import { eventually, startNode, type CacheNode } from './cache-fixture';

let redis: TestRedis;
const nodes: CacheNode[] = [];
const clients: Redis[] = [];

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.remove();
  for (const c of clients.splice(0)) c.disconnect();
  await redis.client().flushall();
});

// A read timeout wide enough for two shared cores: these tests are about what each tier holds.
const fast: CacheOptions = { reconcileIntervalMs: 200, breakerResetMs: 300, redisCommandTimeoutMs: 300 };

async function node(options: CacheOptions = {}, clock?: { now(): number }): Promise<CacheNode> {
  const shared = new Redis(redis.url, { lazyConnect: true });
  clients.push(shared);
  const n = await startNode({ redis: shared, cache: { ...fast, ...options }, ...(clock === undefined ? {} : { clock }) });
  nodes.push(n);
  return n;
}

/** Every node has heard `count` more bus messages than `before`: what was sent has been applied. */
async function heard(all: CacheNode[], before: number[], count: number): Promise<void> {
  for (const [i, n] of all.entries()) {
    expect(await eventually(() => n.cache.redisState().busMessages >= before[i]! + count, 3000)).toBe(true);
  }
}

describe('nodes of a fleet agree on what the cache holds', () => {
  it('invalidating a tag a key used to carry leaves its current value on every node and in Redis; its current tag drops it everywhere', async () => {
    const all = [await node(), await node(), await node()];
    const [a, b, c] = all as [CacheNode, CacheNode, CacheNode];
    const before = all.map((n) => n.cache.redisState().busMessages);
    await a.cache.namespace('tags').set('j', 'v1', { tags: ['red'] });
    await a.cache.namespace('tags').set('j', 'v2', { tags: ['blue'] });
    await heard([b, c], before.slice(1), 2);
    expect(await b.cache.namespace('tags').get('j')).toBe('v2');

    expect(await a.cache.invalidate({ namespace: 'tags', tags: ['red'] })).toBe(0);
    await a.cache.reconcile();
    for (const n of all) expect(await n.cache.namespace('tags').get('j')).toBe('v2');
    const inspected = await c.cache.namespace('tags').inspect('j');
    expect(inspected.tiers.l2?.tags).toEqual(['blue']);

    expect(await a.cache.invalidate({ namespace: 'tags', tags: ['blue'] })).toBe(1);
    for (const n of all) expect(await eventually(async () => (await n.cache.namespace('tags').get('j')) === undefined, 3000)).toBe(true);
    expect(await redis.client().exists('ph:cache:e:tags:j')).toBe(0);
  });

  it("a value promoted from a node's L3 into Redis joins its tags' sets, so dropping the tag drops it from Redis too", async () => {
    const [a, b] = [await node(), await node()];
    await a.cache.namespace('promo').set('k', 'v', { tags: ['t'] });
    // Redis loses the entry and its tag set (an eviction, a restart): A still holds it in L3.
    await redis.client().del('ph:cache:e:promo:k', 'ph:cache:t:promo:t');
    a.cache.namespace('promo').lru.delete('k');
    expect(await a.cache.namespace('promo').get('k')).toBe('v'); // from L3, promoted back into Redis
    expect(await eventually(async () => (await redis.client().exists('ph:cache:e:promo:k')) === 1, 2000)).toBe(true);
    await b.cache.invalidate({ namespace: 'promo', tags: ['t'] });
    expect(await redis.client().exists('ph:cache:e:promo:k')).toBe(0);
    expect(await eventually(async () => (await a.cache.namespace('promo').get('k')) === undefined, 3000)).toBe(true);
    expect(await b.cache.namespace('promo').get('k')).toBeUndefined();
  });

  it('refuses a tag with a lone surrogate, which Redis could not match to the tag it was written with', async () => {
    const a = await node();
    await expect(a.cache.namespace('tags').set('k', 1, { tags: ['x\ud800'] })).rejects.toMatchObject({
      code: 'PH_INVALID_INPUT',
      field: 'tags',
    });
    expect(await a.cache.namespace('tags').get('k')).toBeUndefined();
  });

  it("a value read from Redis lives its ttl by Redis's clock on a node whose clock is 26 s ahead or behind the writer's", async () => {
    const a = await node();
    const ahead = { now: () => Date.now() + 26_000 };
    const behind = { now: () => Date.now() - 26_000 };
    const [c, d] = [await node({}, ahead), await node({}, behind)];
    const before = [c, d].map((n) => n.cache.redisState().busMessages);
    await a.cache.namespace('skew').set('k', 'v', { ttl: 25_000 });
    await heard([c, d], before, 1);
    expect(await c.cache.namespace('skew').get('k')).toBe('v');
    expect(await d.cache.namespace('skew').get('k')).toBe('v');
    for (const [n, clock] of [
      [c, ahead],
      [d, behind],
    ] as const) {
      const l1 = n.cache.namespace('skew').lru.peek('k');
      const left = (l1?.freshUntil ?? 0) - clock.now();
      expect(left).toBeGreaterThan(23_000);
      expect(left).toBeLessThanOrEqual(25_000);
    }
  });
});
