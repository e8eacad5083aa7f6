import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cacheHandlers } from '../../main/cache';
import { systemCaller } from '../../main/core';
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
  redis.resume();
});

async function node(): Promise<CacheNode> {
  const shared = new Redis(redis.url, { lazyConnect: true });
  clients.push(shared);
  // A command timeout wide enough for a loaded machine; the paused-Redis test waits it out once.
  const n = await startNode({ redis: shared, cache: { reconcileIntervalMs: 200, breakerResetMs: 300, redisCommandTimeoutMs: 300 } });
  nodes.push(n);
  return n;
}

/**
 * Node A holds `both` in L1 and L3 and `disk` in L3 only; `remote`, written by node B, is in Redis
 * only, as far as A's own tiers go.
 */
async function seeded(): Promise<CacheNode> {
  const a = await node();
  const b = await node();
  await a.cache.namespace('people').set('both', 1);
  await a.cache.namespace('people').set('disk', 2);
  await b.cache.namespace('people').set('remote', 3);
  a.cache.flushL3();
  a.cache.namespace('people').lru.delete('disk');
  const whole = await a.cache.keys('people', { limit: 100 });
  expect(whole.keys.map((k) => [k.key, [...k.tiers].sort()])).toEqual([
    ['both', ['l1', 'l2', 'l3']],
    ['disk', ['l2', 'l3']],
    ['remote', ['l2']],
  ]);
  expect(whole.unavailable).toEqual([]);
  return a;
}

describe('the key listing when Redis cannot be read', () => {
  it('with Redis killed, lists the L1 and L3 keys and says l2 was not read instead of answering a shorter list as whole', async () => {
    const a = await seeded();
    await redis.kill();
    try {
      expect(await eventually(() => a.cache.redisState().state === 'down', 5000)).toBe(true);
      const page = await a.cache.keys('people', { limit: 100 });
      expect(page.unavailable).toEqual(['l2']);
      expect(page.keys.map((k) => [k.key, [...k.tiers].sort()])).toEqual([
        ['both', ['l1', 'l3']],
        ['disk', ['l3']],
      ]);
      expect(page.total).toBe(2);
      // Asking for the unreadable tier alone says so too, rather than "no keys".
      expect(await a.cache.keys('people', { tier: 'l2', limit: 100 })).toEqual({
        keys: [],
        total: 0,
        nextCursor: null,
        unavailable: ['l2'],
      });
    } finally {
      await redis.restart();
    }
    expect(await eventually(() => a.cache.redisState().state === 'up', 8000)).toBe(true);
    expect((await a.cache.keys('people', { limit: 100 })).unavailable).toEqual([]);
  });

  it('with Redis paused while the breaker is still closed, the failed SCAN marks l2 unavailable and L1/L3 are still listed', async () => {
    const a = await seeded();
    expect(a.cache.redisState().state).toBe('up');
    redis.pause();
    try {
      const page = await a.cache.keys('people', { limit: 100 });
      expect(page.unavailable).toEqual(['l2']);
      expect(page.keys.map((k) => k.key)).toEqual(['both', 'disk']);
    } finally {
      redis.resume();
    }
    expect(await eventually(async () => (await a.cache.keys('people', { limit: 100 })).unavailable.length === 0, 8000)).toBe(true);
    expect((await a.cache.keys('people', { limit: 100 })).keys.map((k) => k.key)).toEqual(['both', 'disk', 'remote']);
  });
});

/** `cache.invalidateMatching` as the operation runs it (HTTP, IPC and GraphQL all call this handler). */
function dropMatching(a: CacheNode, pattern: string) {
  return cacheHandlers(a.cache)['cache.invalidateMatching']({ namespace: 'people', pattern }, systemCaller);
}

describe('dropping keys by pattern when Redis cannot be read', () => {
  it('with Redis killed, drops the L1 and L3 keys and says l2 was not read instead of a short count passed off as whole', async () => {
    const a = await seeded();
    await redis.kill();
    try {
      expect(await eventually(() => a.cache.redisState().state === 'down', 5000)).toBe(true);
      const result = await dropMatching(a, '*');
      expect(result.unavailable).toEqual(['l2']);
      expect(result.matched).toBe(2);
      // Nothing of the pattern is left in this node's own tiers.
      expect(await a.cache.keys('people', { limit: 100 })).toEqual({ keys: [], total: 0, nextCursor: null, unavailable: ['l2'] });
    } finally {
      await redis.restart();
    }
    expect(await eventually(() => a.cache.redisState().state === 'up', 8000)).toBe(true);
    expect((await dropMatching(a, '*')).unavailable).toEqual([]);
  });

  it('with Redis paused while the breaker is closed, drops the L1 and L3 keys and says l2 was not read; once it answers, a second call drops the Redis-only keys', async () => {
    const a = await seeded();
    expect(a.cache.redisState().state).toBe('up');
    redis.pause();
    try {
      const result = await dropMatching(a, '*');
      expect(result.unavailable).toEqual(['l2']);
      expect(result.matched).toBe(2);
      const local = await a.cache.keys('people', { limit: 100 });
      expect(local.keys).toEqual([]);
      expect(local.unavailable).toEqual(['l2']);
    } finally {
      redis.resume();
    }
    expect(await eventually(async () => (await a.cache.keys('people', { limit: 100 })).unavailable.length === 0, 8000)).toBe(true);
    // The key held only in Redis outlived the first call, as its answer warned.
    expect((await a.cache.keys('people', { limit: 100 })).keys.map((k) => k.key)).toContain('remote');
    const second = await dropMatching(a, '*');
    expect(second.unavailable).toEqual([]);
    expect(second.matched).toBeGreaterThanOrEqual(1);
    expect(await a.cache.keys('people', { limit: 100 })).toEqual({ keys: [], total: 0, nextCursor: null, unavailable: [] });
  });
});
