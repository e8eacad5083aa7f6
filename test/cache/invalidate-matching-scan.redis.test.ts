import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheHandlers } from '../../main/cache';
import { systemCaller } from '../../main/core';
import { startRedis, type TestRedis } from '../helpers/redis-server';
import { eventually, startNode, type CacheNode } from './cache-fixture';

const MATCHING = 3500;

let redis: TestRedis;
let stats: Redis;
const nodes: CacheNode[] = [];
const clients: Redis[] = [];

async function node(): Promise<CacheNode> {
  const shared = new Redis(redis.url, { lazyConnect: true });
  clients.push(shared);
  // A command timeout wide enough for a loaded machine: a seeding write refused under load would fail the test.
  const n = await startNode({ redis: shared, cache: { redisCommandTimeoutMs: 5000 } });
  nodes.push(n);
  return n;
}

/** SCAN commands Redis has answered since the last RESETSTAT. */
async function scans(): Promise<number> {
  const line = /cmdstat_scan:calls=(\d+)/.exec(await stats.info('commandstats'));
  return line === null ? 0 : Number(line[1]);
}

beforeAll(async () => {
  redis = await startRedis();
  stats = redis.client();
});
afterAll(async () => {
  for (const n of nodes.splice(0)) await n.remove();
  for (const c of clients.splice(0)) c.disconnect();
  await redis.stop();
});

describe('dropping many keys by pattern', () => {
  it('gathers the matching keys with one SCAN walk of Redis, not one per page of 1 000, and drops every one on every node', async () => {
    const a = await node();
    const b = await node();
    // Written by B, the keys are in Redis (and B's own tiers) but not in A's L1 or L3: A finds them by SCAN only.
    const people = b.cache.namespace('people');
    for (let i = 0; i < MATCHING; i += 50) {
      await Promise.all(Array.from({ length: Math.min(50, MATCHING - i) }, (_, j) => people.set(`user:${i + j}`, i + j)));
    }
    for (let i = 0; i < 3; i += 1) await people.set(`team:${i}`, i);
    const listed = await a.cache.keys('people', { pattern: 'user:*', limit: 1 });
    expect(listed.total).toBe(MATCHING);
    expect(listed.keys[0]?.tiers).toEqual(['l2']);

    // What one walk costs on this keyspace: cache.keys gathers the names once.
    await stats.config('RESETSTAT');
    await a.cache.keys('people', { pattern: 'user:*', limit: 1000 });
    const oneWalk = await scans();
    expect(oneWalk).toBeGreaterThan(1);

    await stats.config('RESETSTAT');
    const result = await cacheHandlers(a.cache)['cache.invalidateMatching']({ namespace: 'people', pattern: 'user:*' }, systemCaller);
    expect(await scans()).toBe(oneWalk);
    expect(result.matched).toBe(MATCHING);
    expect(result.removed).toBeGreaterThanOrEqual(MATCHING);
    expect(result.unavailable).toEqual([]);

    expect(await a.cache.keys('people', { pattern: 'user:*', limit: 1 })).toEqual({
      keys: [],
      total: 0,
      nextCursor: null,
      unavailable: [],
    });
    // The drops reached B over the bus, in chunks of 1 000 keys.
    expect(await eventually(async () => (await b.cache.keys('people', { pattern: 'user:*', limit: 1 })).total === 0)).toBe(true);
    expect((await a.cache.keys('people', { limit: 10 })).keys.map((k) => k.key)).toEqual(['team:0', 'team:1', 'team:2']);
  }, 60_000);
});
