import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { msgpackSerializer } from '../../main/cache';
import { PhError } from '../../contract/errors';
import { eventually, fakeClock, sleep, startNode, type CacheNode } from './cache-fixture';

const DAY = 24 * 3600 * 1000;
const nodes: CacheNode[] = [];
async function node(...args: Parameters<typeof startNode>): Promise<CacheNode> {
  const n = await startNode(...args);
  nodes.push(n);
  return n;
}
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.remove();
});

describe('cache on one machine (L1 + L3 SQLite, no Redis)', () => {
  it('reads L1 then L3, and promotes an L3 hit into L1', async () => {
    const n = await node();
    const users = n.cache.namespace('users');
    await users.set('u1', { name: 'Ada' });
    expect(await users.get('u1')).toEqual({ name: 'Ada' });
    expect(users.stats.l1Hits).toBe(1);
    users.lru.clear();
    expect(await users.get('u1')).toEqual({ name: 'Ada' });
    expect(users.stats.l3Hits).toBe(1);
    expect(users.lru.has('u1')).toBe(true);
    expect(await users.get('u1')).toEqual({ name: 'Ada' });
    expect(users.stats.l1Hits).toBe(2);
  });

  it('times one L1 hit in 16 into the l1 latency histogram, through get, peek and getOrSet', async () => {
    const n = await node();
    const ns = n.cache.namespace('timed');
    await ns.set('k', 1);
    for (let i = 0; i < 100; i += 1) await ns.get('k');
    for (let i = 0; i < 50; i += 1) ns.peek('k');
    for (let i = 0; i < 50; i += 1) await ns.getOrSet('k', () => 2);
    expect(ns.stats.l1Hits).toBe(200);
    const l1 = ns.stats.latencySummary('l1');
    expect(l1.count).toBeGreaterThanOrEqual(12);
    expect(l1.count).toBeLessThanOrEqual(13);
    expect(l1.p99).toBeGreaterThan(0);
  });

  it('another program holding the write lock on the database does not hold up the event loop: L3 is degraded, keeps the write and catches up after', async () => {
    const n = await node();
    const ns = n.cache.namespace('locked');
    const other = new Database(join(n.dir, 'pilothouse.db'));
    other.exec('BEGIN IMMEDIATE');
    try {
      await ns.set('k', 'v');
      let worst = 0;
      let last = performance.now();
      const beat = setInterval(() => {
        const t = performance.now();
        worst = Math.max(worst, t - last);
        last = t;
      }, 10);
      await sleep(400); // the write-behind (25 ms) and its retries meet the lock meanwhile
      clearInterval(beat);
      expect(worst).toBeLessThan(1000);
      expect(n.cache.status()).toMatchObject({ state: 'degraded', detail: expect.stringMatching(/L3 write-behind failing/) });
      ns.lru.clear();
      expect(await ns.get('k')).toBe('v'); // from the write-behind queue
    } finally {
      other.exec('COMMIT');
      other.close();
    }
    expect(await eventually(() => n.cache.status().state === 'running', 8000)).toBe(true);
    expect(n.db.prepare("SELECT count(*) FROM cache_entries WHERE namespace = 'locked' AND key = 'k'").pluck().get()).toBe(1);
  });

  it('keeps a 30-day TTL: fresh at 29 days, gone after 30, with no timer per entry', async () => {
    const clock = fakeClock();
    const n = await node({ clock });
    const ns = n.cache.namespace('long');
    let calls = 0;
    const loader = async () => ++calls;
    expect(await ns.getOrSet('k', loader, { ttl: 30 * DAY })).toBe(1);
    clock.advance(29 * DAY);
    expect(await ns.getOrSet('k', loader, { ttl: 30 * DAY })).toBe(1);
    ns.lru.clear();
    n.cache.flushL3();
    expect(await ns.get('k')).toBe(1); // from L3, still fresh after 29 days
    clock.advance(DAY + 1);
    expect(await ns.get('k')).toBeUndefined();
    expect(await ns.getOrSet('k', loader, { ttl: 30 * DAY })).toBe(2);
    expect(calls).toBe(2);
  });

  it('refuses a ttl longer than ten years or not positive', async () => {
    const n = await node();
    const ns = n.cache.namespace('bad');
    await expect(ns.set('k', 1, { ttl: 11 * 365 * DAY })).rejects.toMatchObject({ code: 'PH_INVALID_INPUT', field: 'ttl' });
    await expect(ns.set('k', 1, { ttl: 0 })).rejects.toMatchObject({ code: 'PH_INVALID_INPUT' });
  });

  it('calls the loader once for 10,000 concurrent misses on one key', async () => {
    const n = await node();
    const ns = n.cache.namespace('stampede');
    let calls = 0;
    const loader = async () => {
      calls += 1;
      await sleep(20);
      return 'v';
    };
    const results = await Promise.all(Array.from({ length: 10_000 }, () => ns.getOrSet('hot', loader)));
    expect(calls).toBe(1);
    expect(results.every((r) => r === 'v')).toBe(true);
  });

  it('does not deadlock on nested getOrSet, on other keys or on the same key', async () => {
    const n = await node();
    const ns = n.cache.namespace('nested');
    const outer = await Promise.race([
      ns.getOrSet('a', async () => {
        const b = await ns.getOrSet('b', async () => {
          const again = await ns.getOrSet('a', async () => 'inner-a');
          return `b(${again})`;
        });
        return `a(${b})`;
      }),
      sleep(3000).then(() => 'deadlocked'),
    ]);
    expect(outer).toBe('a(b(inner-a))');
    expect(await ns.get('b')).toBe('b(inner-a)');
  });

  it('serves a stale value within grace when the loader fails, and throws without grace', async () => {
    const clock = fakeClock();
    const n = await node({ clock });
    const ns = n.cache.namespace('grace');
    await ns.set('k', 'old', { ttl: 1000, grace: 60_000 });
    clock.advance(2000);
    const failing = async () => {
      throw new Error('backend down');
    };
    expect(await ns.getOrSet('k', failing)).toBe('old');
    expect(ns.stats.staleServes).toBe(1);
    expect(ns.stats.misses).toBe(0); // a stale serve is not also a miss
    clock.advance(60_000);
    await expect(ns.getOrSet('k', failing)).rejects.toThrow('backend down');
    expect(ns.stats.loaderErrors).toBe(2);
  });

  it('returns the stale value at the soft timeout and stores the fresh one when it arrives', async () => {
    const clock = fakeClock();
    const n = await node({ clock });
    const ns = n.cache.namespace('soft');
    await ns.set('k', 'old', { ttl: 1000, grace: 60_000 });
    clock.advance(1500);
    const started = Date.now();
    const value = await ns.getOrSet(
      'k',
      async () => {
        await sleep(1000);
        return 'new';
      },
      { timeout: 30 },
    );
    expect(value).toBe('old');
    expect(Date.now() - started).toBeLessThan(600);
    expect(await eventually(() => ns.peek('k') === 'new', 3000)).toBe(true);
  });

  it('gives up at the hard timeout with PH_CACHE_LOADER_TIMEOUT and aborts the loader signal', async () => {
    const n = await node();
    const ns = n.cache.namespace('hard');
    let aborted = false;
    const err = await ns
      .getOrSet(
        'k',
        async ({ signal }) => {
          signal.addEventListener('abort', () => {
            aborted = true;
          });
          await sleep(500);
          return 'late';
        },
        { hardTimeout: 40 },
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PhError);
    expect((err as PhError).code).toBe('PH_CACHE_LOADER_TIMEOUT');
    expect(aborted).toBe(true);
    expect(ns.stats.loaderTimeouts).toBe(1);
  });

  it('refreshes early in the background once a hit passes the early-refresh fraction', async () => {
    const clock = fakeClock();
    const n = await node({ clock });
    const ns = n.cache.namespace('early');
    let version = 0;
    const loader = async () => ++version;
    expect(await ns.getOrSet('k', loader, { ttl: 10_000, earlyRefresh: 0.5 })).toBe(1);
    clock.advance(4000);
    expect(await ns.getOrSet('k', loader, { ttl: 10_000, earlyRefresh: 0.5 })).toBe(1);
    expect(version).toBe(1);
    clock.advance(2000);
    expect(await ns.getOrSet('k', loader, { ttl: 10_000, earlyRefresh: 0.5 })).toBe(1); // still served at once
    expect(await eventually(() => ns.peek('k') === 2, 2000)).toBe(true);
    expect(ns.stats.earlyRefreshes).toBe(1);
  });

  it('spreads expiries with jitter within the asked bounds', async () => {
    const clock = fakeClock();
    const n = await node({ clock });
    const ns = n.cache.namespace('jitter');
    for (let i = 0; i < 200; i += 1) await ns.set(`k${i}`, i, { ttl: 10_000, jitter: 0.2 });
    const expiries = [...ns.lru.entries()].map(([, e]) => e.freshUntil - clock.now());
    expect(Math.min(...expiries)).toBeGreaterThanOrEqual(8000);
    expect(Math.max(...expiries)).toBeLessThanOrEqual(12_000);
    expect(new Set(expiries).size).toBeGreaterThan(50);
  });

  it('invalidates by tag in L1 and L3, leaving untagged entries', async () => {
    const n = await node();
    const ns = n.cache.namespace('tags');
    await ns.set('p1', 1, { tags: ['product:1'] });
    await ns.set('p2', 2, { tags: ['product:2', 'list'] });
    await ns.set('p3', 3, { tags: ['list'] });
    n.cache.flushL3();
    expect(await ns.deleteByTags(['list'])).toBeGreaterThanOrEqual(2);
    expect(await ns.get('p1')).toBe(1);
    expect(await ns.get('p2')).toBeUndefined();
    ns.lru.clear();
    expect(await ns.get('p3')).toBeUndefined();
    expect(await ns.get('p1')).toBe(1);
  });

  it('clears one namespace and leaves the others', async () => {
    const n = await node();
    const a = n.cache.namespace('a');
    const b = n.cache.namespace('b');
    await a.set('k', 'a');
    await b.set('k', 'b');
    await a.clear();
    a.lru.clear();
    b.lru.clear();
    expect(await a.get('k')).toBeUndefined();
    expect(await b.get('k')).toBe('b');
  });

  it('brings the hot set back from L3 after a restart without calling loaders', async () => {
    let n = await node();
    let calls = 0;
    const loader = async ({ key }: { key: string }) => {
      calls += 1;
      return `value-${key}`;
    };
    for (let i = 0; i < 100; i += 1) await n.cache.namespace('hot').getOrSet(`k${i}`, loader);
    expect(calls).toBe(100);
    n = await n.restart();
    nodes.push(n);
    for (let i = 0; i < 100; i += 1) expect(await n.cache.namespace('hot').getOrSet(`k${i}`, loader)).toBe(`value-k${i}`);
    expect(calls).toBe(100);
    expect(n.cache.namespace('hot').stats.l3Hits).toBe(100);
  });

  it('runs a warm-up list with progress, loading only what no tier has', async () => {
    const n = await node();
    await n.cache.namespace('w').set('k1', 'cached');
    const progress: unknown[] = [];
    n.events.subscribe((m) => {
      if (m.event === 'cache.warm.progress') progress.push(m.payload);
    });
    n.cache.registerWarmup('w', { keys: () => ['k1', 'k2', 'k3'], loader: async ({ key }) => `loaded-${key}`, atStart: false });
    const [result] = await n.cache.warm('w');
    expect(result).toMatchObject({ namespace: 'w', total: 3, done: 3, fromCache: 1, loaded: 2, failed: 0, finished: true });
    expect(progress.length).toBeGreaterThan(0);
    expect(await n.cache.namespace('w').get('k3')).toBe('loaded-k3');
  });

  it('serializes once with msgpack when asked, keeping binary values', async () => {
    const n = await node({ cache: { serializer: msgpackSerializer() } });
    const ns = n.cache.namespace('bin');
    await ns.set('b', { data: Buffer.from([1, 2, 3]), when: new Date(0) });
    ns.lru.clear();
    const back = (await ns.get('b')) as { data: Uint8Array; when: Date };
    expect([...back.data]).toEqual([1, 2, 3]);
    expect(back.when).toBeInstanceOf(Date);
  });

  it('keeps L3 under its byte bound by evicting the least recently used rows', async () => {
    const n = await node({ cache: { l3MaxBytes: 50_000 } });
    const ns = n.cache.namespace('big');
    const blob = 'x'.repeat(1000);
    for (let i = 0; i < 200; i += 1) await ns.set(`k${i}`, blob);
    const { evicted } = n.cache.maintainL3();
    expect(evicted).toBeGreaterThan(100);
    const stats = n.cache.stats();
    expect(stats.l3.bytes).toBeLessThanOrEqual(50_000);
  });

  it('bounds L1 by entries and counts evictions', async () => {
    const n = await node({ cache: { l1MaxEntries: 10, l3: false } });
    const ns = n.cache.namespace('small');
    for (let i = 0; i < 30; i += 1) await ns.set(`k${i}`, i);
    expect(ns.lru.size).toBe(10);
    expect(ns.stats.l1Evictions).toBe(20);
  });

  it('rejects keys and values over the limits with clear codes', async () => {
    const n = await node({ cache: { maxValueBytes: 100 } });
    const ns = n.cache.namespace('limits');
    await expect(ns.set('k'.repeat(600), 1)).rejects.toMatchObject({ code: 'PH_CACHE_KEY_TOO_LONG' });
    await expect(ns.set('k', 'v'.repeat(200))).rejects.toMatchObject({ code: 'PH_CACHE_VALUE_TOO_LARGE' });
    expect(() => n.cache.namespace('bad name!')).toThrow(PhError);
  });

  it('drops entries when another capability publishes cache.invalidate on the event bus', async () => {
    const n = await node();
    const ns = n.cache.namespace('ev');
    await ns.set('k', 1);
    await ns.set('t', 2, { tags: ['grp'] });
    n.events.publish('cache.invalidate', { namespace: 'ev', keys: ['k'], tags: ['grp'] });
    expect(await eventually(async () => (await ns.get('k')) === undefined && (await ns.get('t')) === undefined, 2000)).toBe(true);
  });

  it('reports analytics: ratios, latency, hottest keys and a recommendation when L1 is too small', async () => {
    const n = await node({ cache: { l1MaxEntries: 5 } });
    const ns = n.cache.namespace('users');
    for (let i = 0; i < 20; i += 1) await ns.set(`u${i}`, i);
    for (let round = 0; round < 5; round += 1) for (let i = 0; i < 20; i += 1) await ns.get(`u${i}`);
    const stats = n.cache.stats();
    const users = stats.namespaces.find((s) => s.name === 'users');
    expect(users?.counters.l3Hits).toBeGreaterThan(50);
    expect(users?.latency.l3.count).toBeGreaterThan(0);
    expect(stats.recommendations.some((r) => r.includes('`users`') && r.includes('raise L1 max entries'))).toBe(true);
    expect(stats.hottest.length).toBeGreaterThan(0);
  });
});
