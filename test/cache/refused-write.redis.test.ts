import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { CacheOptions } from '../../main/cache';
import { startRedis, type TestRedis } from '../helpers/redis-server';
import { eventually, sleep, startNode, type CacheNode } from './cache-fixture';

let redis: TestRedis;
const nodes: CacheNode[] = [];
const clients: Redis[] = [];

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  redis.resume();
  await redis.stop();
});
afterEach(async () => {
  vi.restoreAllMocks();
  redis.resume();
  for (const n of nodes.splice(0)) await n.remove();
  for (const c of clients.splice(0)) c.disconnect();
  await redis.client().flushall();
});

async function node(options: CacheOptions = {}): Promise<CacheNode> {
  const shared = new Redis(redis.url, { lazyConnect: true });
  clients.push(shared);
  const n = await startNode({ redis: shared, cache: { breakerResetMs: 300, ...options } });
  nodes.push(n);
  return n;
}

function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // Holds the event loop, as a burst of synchronous work on a loaded node does.
  }
}

describe('a write the cache refuses is not stored anywhere', () => {
  it('a write refused while Redis froze is not applied when Redis thaws, and no node serves it', async () => {
    // A slow reconcile: the drop queued for the refused write must not be what hides it.
    const options: CacheOptions = { redisCommandTimeoutMs: 300, redisWriteTimeoutMs: 300, reconcileIntervalMs: 10_000 };
    const all = [await node(options), await node(options), await node(options)];
    const [a] = all as [CacheNode];
    await a.cache.namespace('w').set('before', 1);
    redis.pause();
    const frozenAt = Date.now();
    await expect(a.cache.namespace('w').set('k', 'refused')).rejects.toMatchObject({ code: 'PH_CACHE_WRITE_UNSHARED' });
    await sleep(800 - (Date.now() - frozenAt));
    redis.resume();
    expect(await eventually(() => a.cache.redisState().state === 'up', 3000)).toBe(true);
    // A write made after the thaw reaches every node: by then a refused write that landed would have too.
    await a.cache.namespace('w').set('after', 2);
    for (const n of all) expect(await eventually(async () => (await n.cache.namespace('w').get('after')) === 2, 3000)).toBe(true);
    for (const n of all) expect(await n.cache.namespace('w').get('k')).toBeUndefined();
    expect(await redis.client().exists('ph:cache:e:w:k')).toBe(0);
    expect(await a.cache.namespace('w').get('before')).toBe(1);
  });

  it('a refused write that reached Redis anyway is dropped from every node once Redis answers, the writer included', async () => {
    const options: CacheOptions = { redisCommandTimeoutMs: 300, redisWriteTimeoutMs: 300, reconcileIntervalMs: 1500 };
    const [a, b] = [await node(options), await node(options)];
    // The writer measures Redis's clock while its own runs 5 s behind and then steps forward (NTP):
    // its writes' deadline comes 5 s late, so a refused write can still be applied when Redis thaws.
    const real = Date.now.bind(Date);
    vi.spyOn(Date, 'now').mockImplementation(() => real() - 5000);
    await a.cache.namespace('late').set('first', 1);
    vi.restoreAllMocks();
    redis.pause();
    const frozenAt = Date.now();
    await expect(a.cache.namespace('late').set('k', 'refused')).rejects.toMatchObject({ code: 'PH_CACHE_WRITE_UNSHARED' });
    await sleep(800 - (Date.now() - frozenAt));
    redis.resume();
    expect(await eventually(async () => (await redis.client().exists('ph:cache:e:late:k')) === 1, 2000)).toBe(true);
    expect(await a.cache.namespace('late').get('k')).toBe('refused'); // read back into A's L1
    for (const n of [a, b]) expect(await eventually(async () => (await n.cache.namespace('late').get('k')) === undefined, 5000)).toBe(true);
  });

  it('a write whose reply waits behind a busy event loop on a healthy Redis is acknowledged, not refused', async () => {
    const a = await node({ redisCommandTimeoutMs: 100 });
    await a.cache.namespace('busy').set('first', 1);
    const writing = a.cache.namespace('busy').set('k', 'v');
    // Redis answers at once; the reply sits unread while the loop is held past the read timeout.
    setImmediate(() => busy(300));
    await expect(writing).resolves.toBeUndefined();
    expect(await redis.client().exists('ph:cache:e:busy:k')).toBe(1);
  });
});
