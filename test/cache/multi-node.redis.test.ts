import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
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
  await redis.stop();
});
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.remove();
  for (const c of clients.splice(0)) c.disconnect();
  await redis.client().flushall();
});

// The command timeout is wider than the 50 ms default: two cores shared by parallel suites delay
// replies, and these tests are about the bus and leases, not timeouts (the black-hole test sets 50).
const fast: CacheOptions = { reconcileIntervalMs: 200, breakerResetMs: 300, redisCommandTimeoutMs: 300 };

async function node(options: CacheOptions = {}): Promise<CacheNode> {
  const shared = new Redis(redis.url, { lazyConnect: true });
  clients.push(shared);
  const n = await startNode({ redis: shared, cache: { ...fast, ...options } });
  nodes.push(n);
  return n;
}

describe('cache across nodes on one Redis', () => {
  it("serves another node's write from L2 and promotes it to L1", async () => {
    const [a, b] = [await node(), await node()];
    const heard = b.cache.redisState().busMessages;
    await a.cache.namespace('users').set('u1', { name: 'Ada' });
    // B hears A's write first: heard after B's read, it would rightly drop the copy B just promoted.
    expect(await eventually(() => b.cache.redisState().busMessages > heard, 2000)).toBe(true);
    expect(await b.cache.namespace('users').get('u1')).toEqual({ name: 'Ada' });
    expect(b.cache.namespace('users').stats.l2Hits).toBe(1);
    expect(await b.cache.namespace('users').get('u1')).toEqual({ name: 'Ada' });
    expect(b.cache.namespace('users').stats.l1Hits).toBe(1);
  });

  it('calls the loader once across three nodes for concurrent misses, through the Redis lease', async () => {
    const ns = [await node(), await node(), await node()].map((n) => n.cache.namespace('flight'));
    let calls = 0;
    const loader = async () => {
      calls += 1;
      await sleep(100);
      return 'v';
    };
    const results = await Promise.all(ns.flatMap((n) => Array.from({ length: 200 }, () => n.getOrSet('hot', loader))));
    expect(calls).toBe(1);
    expect(results.every((r) => r === 'v')).toBe(true);
  });

  it('releases the lease when the loader throws, so another node loads at once', async () => {
    const [a, b] = [await node(), await node()];
    const failing = a.cache.namespace('lease').getOrSet('k', async () => {
      await sleep(150);
      throw new Error('boom');
    });
    expect(await eventually(async () => (await redis.client().exists('ph:cache:l:lease:k')) === 1, 2000, 2)).toBe(true);
    const started = Date.now();
    const second = b.cache.namespace('lease').getOrSet('k', async () => 'from-b');
    await expect(failing).rejects.toThrow('boom');
    expect(await second).toBe('from-b');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('drops the old value on other nodes when a key is set, without reading L2 until asked', async () => {
    const [a, b] = [await node(), await node()];
    await a.cache.namespace('p').set('k', 'v1');
    expect(await b.cache.namespace('p').get('k')).toBe('v1');
    await a.cache.namespace('p').set('k', 'v2');
    expect(await eventually(() => !b.cache.namespace('p').lru.has('k'), 2000)).toBe(true);
    const l2Before = b.cache.namespace('p').stats.l2Hits;
    expect(await b.cache.namespace('p').get('k')).toBe('v2');
    expect(b.cache.namespace('p').stats.l2Hits).toBe(l2Before + 1);
  });

  it('a value read from L2 is not kept in L1 when an invalidation of the key arrives while the read awaits Redis', async () => {
    const [a, b] = [await node({ defaults: { ttl: 600_000 } }), await node({ defaults: { ttl: 600_000 } })];
    await a.cache.namespace('race').set('k', 'old');
    const nb = b.cache.namespace('race');
    const reading = nb.get('k'); // B's GET is on its way to Redis
    nb.dropLocalKeys(['k']); // what B's bus handler does when A's overwrite is announced before the reply is read
    expect(await reading).toBe('old'); // the read answers with what Redis held when it began
    expect(nb.lru.has('k')).toBe(false); // but does not keep it past the invalidation
    await a.cache.namespace('race').set('k', 'new');
    expect(await nb.get('k')).toBe('new');
  });

  it('readers racing 30 overwrites from another node all serve the last value within 1 s, and keep serving it', async () => {
    const ttl = 600_000;
    const [a, b] = [await node({ defaults: { ttl } }), await node({ defaults: { ttl } })];
    const na = a.cache.namespace('hammer');
    const nb = b.cache.namespace('hammer');
    await na.set('k', 'v0');
    let writing = true;
    const readers = Array.from({ length: 8 }, async () => {
      while (writing) {
        await nb.get('k');
        await new Promise<void>((r) => setImmediate(r));
      }
    });
    for (let i = 1; i <= 30; i += 1) {
      await na.set('k', `v${i}`);
      await sleep(3);
    }
    writing = false;
    await Promise.all(readers);
    expect(await eventually(async () => (await nb.get('k')) === 'v30', 1000, 10)).toBe(true);
    // One more write from A, seen on B's bus, means the bus has delivered every earlier invalidation
    // (one publisher, in order): a stale install would show now.
    const received = b.cache.redisState().busMessages;
    await na.set('marker', 1);
    expect(await eventually(() => b.cache.redisState().busMessages > received, 5000, 10)).toBe(true);
    expect(nb.peek('k') ?? (await nb.get('k'))).toBe('v30');
  });

  it('clearing namespace A over the bus leaves namespace B intact on every node', async () => {
    const [n1, n2, n3] = [await node(), await node(), await node()];
    const heardBefore = [n1, n2, n3].map((n) => n.cache.redisState().busMessages);
    for (const n of [n1, n2, n3]) {
      await n.cache.namespace('A').set('k', 'a');
      await n.cache.namespace('B').set('k', 'b');
    }
    // Every node hears all six writes before reading: a write heard after a read rightly drops the copy that read promoted.
    for (const [i, n] of [n1, n2, n3].entries()) {
      expect(await eventually(() => n.cache.redisState().busMessages >= heardBefore[i]! + 6, 2000)).toBe(true);
    }
    for (const n of [n2, n3]) {
      expect(await n.cache.namespace('A').get('k')).toBe('a');
      expect(await n.cache.namespace('B').get('k')).toBe('b');
    }
    await n1.cache.namespace('A').clear();
    for (const n of [n2, n3]) {
      expect(await eventually(() => n.cache.namespace('A').lru.size === 0, 2000)).toBe(true);
      n.cache.flushL3();
      expect(await n.cache.namespace('A').get('k')).toBeUndefined();
      const hitsBefore = n.cache.namespace('B').stats.l1Hits;
      expect(await n.cache.namespace('B').get('k')).toBe('b');
      expect(n.cache.namespace('B').stats.l1Hits).toBe(hitsBefore + 1); // still in L1: never dropped
    }
    expect(await n1.cache.namespace('A').get('k')).toBeUndefined();
    expect(await n1.cache.namespace('B').get('k')).toBe('b');
    expect(await redis.client().exists('ph:cache:e:B:k')).toBe(1);
    expect(await redis.client().exists('ph:cache:e:A:k')).toBe(0);
  });

  it('invalidates a tag on every node and in L2', async () => {
    const [a, b] = [await node(), await node()];
    await a.cache.namespace('t').set('x', 1, { tags: ['group'] });
    await a.cache.namespace('t').set('y', 2);
    expect(await b.cache.namespace('t').get('x')).toBe(1);
    await a.cache.namespace('t').deleteByTags(['group']);
    expect(await eventually(async () => (await b.cache.namespace('t').get('x')) === undefined, 2000)).toBe(true);
    expect(await b.cache.namespace('t').get('y')).toBe(2);
  });

  it('a node that missed bus messages drops the namespace when it sees the gap in generations', async () => {
    const [a, b] = [await node(), await node()];
    await a.cache.namespace('g').set('k', 'v1');
    expect(await b.cache.namespace('g').get('k')).toBe('v1');
    // A change whose message B never hears (as when its subscription was down):
    await redis.client().hincrby('ph:cache:gens', 'g', 1);
    await redis.client().set('ph:cache:e:g:k', 'gone');
    await a.cache.namespace('g').set('other', 1);
    expect(await eventually(() => !b.cache.namespace('g').lru.has('k'), 2000)).toBe(true);
    expect(await eventually(() => b.cache.redisState().resyncs > 0, 2000)).toBe(true);
  });

  it('a reconcile marker on the bus shows a node the namespaces whose messages it lost, even with no later message', async () => {
    const [a, b] = [await node(), await node()];
    await a.cache.namespace('m').set('k', 'v1');
    await a.cache.namespace('other').set('k', 'v1');
    expect(await b.cache.namespace('m').get('k')).toBe('v1');
    expect(await b.cache.namespace('other').get('k')).toBe('v1');
    await redis.client().hincrby('ph:cache:gens', 'm', 1); // a change whose message B lost
    await b.cache.reconcile();
    expect(await eventually(() => !b.cache.namespace('m').lru.has('k'), 2000)).toBe(true);
    expect(b.cache.namespace('other').lru.has('k')).toBe(true);
  });

  it('a node that missed invalidations while Redis was down serves nothing older than one ttl after recovery', async () => {
    const ttl = 60_000;
    const [a, b] = [await node({ defaults: { ttl } }), await node({ defaults: { ttl } })];
    await a.cache.namespace('o').set('k', 'old');
    expect(await b.cache.namespace('o').get('k')).toBe('old');
    await redis.restart(); // an outage: Redis comes back empty
    // Meanwhile A drops the key and loads it again; Redis cannot carry the news yet.
    await a.cache.namespace('o').delete(['k']);
    expect(await a.cache.namespace('o').getOrSet('k', () => 'new')).toBe('new');
    const recoveredAt = Date.now();
    expect(
      await eventually(
        async () => {
          const v = await b.cache.namespace('o').get('k');
          return v === 'new' || v === undefined;
        },
        10_000,
        50,
      ),
    ).toBe(true);
    expect(Date.now() - recoveredAt).toBeLessThan(ttl);
    expect(await eventually(() => a.cache.redisState().outbox === 0, 5000)).toBe(true);
  });

  it('when Redis is refused, get never hangs and a write is refused with PH_CACHE_WRITE_UNSHARED, not kept on one node', async () => {
    const a = await node();
    await a.cache.namespace('r').set('k', 'v');
    await a.cache.namespace('r').set('short', 'stale-but-graced', { ttl: 100, grace: 60_000 });
    // Killed, as a crash looks to clients: connections refused until it is restarted.
    await redis.kill();
    await sleep(100);
    const started = Date.now();
    await expect(a.cache.namespace('r').set('k2', 'v2')).rejects.toMatchObject({ code: 'PH_CACHE_WRITE_UNSHARED' });
    a.cache.namespace('r').lru.clear();
    expect(await a.cache.namespace('r').get('k2')).toBeUndefined();
    expect(await a.cache.namespace('r').getOrSet('k3', () => 'loaded')).toBe('loaded'); // a loader's value stays local
    expect(await a.cache.namespace('r').get('missing')).toBeUndefined();
    await sleep(150); // 'short' is past its ttl, within grace, and Redis cannot be asked
    expect(await a.cache.namespace('r').get('short')).toBe('stale-but-graced');
    expect(a.cache.namespace('r').stats.staleServes).toBe(1);
    expect(Date.now() - started).toBeLessThan(1200);
    expect(a.cache.status().state).toBe('degraded');
    await redis.restart();
    expect(await eventually(() => a.cache.redisState().state === 'up', 8000)).toBe(true);
  });

  it('when Redis is black-holed, the breaker opens and reads answer from L1/L3 fast, with no errors', async () => {
    const a = await node({ defaults: { grace: 60_000 }, redisCommandTimeoutMs: 50 });
    const ns = a.cache.namespace('bh');
    // A 50 ms command timeout on a loaded machine can refuse a write (503): the client retries, as a LAN program would.
    const setRetrying = async (key: string, value: number): Promise<void> => {
      for (;;) {
        try {
          return await ns.set(key, value);
        } catch (err) {
          if ((err as { code?: string }).code !== 'PH_CACHE_WRITE_UNSHARED') throw err;
          await sleep(20);
        }
      }
    };
    for (let i = 0; i < 50; i += 1) await setRetrying(`k${i}`, i);
    a.cache.flushL3();
    const pid = Number(/process_id:(\d+)/.exec(await redis.client().info('server'))?.[1]);
    let unhandled = 0;
    const onUnhandled = (): void => {
      unhandled += 1;
    };
    process.on('unhandledRejection', onUnhandled);
    process.kill(pid, 'SIGSTOP');
    try {
      let errors = 0;
      const latencies: number[] = [];
      let failuresAfterWarmUp = 0;
      for (let i = 0; i < 400; i += 1) {
        if (i === 20) failuresAfterWarmUp = a.cache.redisState().failures;
        ns.lru.delete(`k${i % 50}`);
        const t0 = performance.now();
        const v = await ns.get(`k${i % 50}`).catch(() => {
          errors += 1;
          return 'error';
        });
        latencies.push(performance.now() - t0);
        if (v !== i % 50) errors += 1;
      }
      expect(errors).toBe(0);
      expect(a.cache.redisState().state).toBe('breaker-open');
      // Fast because the open breaker answers without asking Redis: of the 380 reads after the first
      // 20, only the breaker's half-open trials may have reached the paused Redis and failed.
      expect(a.cache.redisState().failures - failuresAfterWarmUp).toBeLessThan(20);
      expect(Math.max(...latencies)).toBeLessThan(1000);
      await expect(ns.set('written-while-paused', 1)).rejects.toMatchObject({ code: 'PH_CACHE_WRITE_UNSHARED' });
      expect(await ns.get('written-while-paused')).toBeUndefined();
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    // Back up means every command sent while Redis was paused has settled: none left a rejection unhandled.
    try {
      expect(await eventually(() => a.cache.redisState().state === 'up', 8000)).toBe(true);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).toBe(0);
  });
});
