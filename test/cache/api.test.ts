import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type TestRedis } from '../helpers/redis-server';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';
import { tempDir } from '../helpers/temp-dir';

let redis: TestRedis;
let plane: TestPlane;
let operator: string;
let viewer: string;
let consoleDir: ReturnType<typeof tempDir>;

beforeAll(async () => {
  redis = await startRedis();
  // A built console: its files answer GET for any path no API route takes, as in a real install.
  consoleDir = tempDir('ph-console-');
  writeFileSync(join(consoleDir.path, 'index.html'), '<!doctype html><title>console</title>');
  plane = await startTestPlane({ redisUrl: redis.url, consoleDir: consoleDir.path });
  operator = (await plane.op('keys.create', { name: 'lan-app', role: 'operator' })).body.secret;
  viewer = (await plane.op('keys.create', { name: 'dashboard', role: 'viewer' })).body.secret;
});
afterAll(async () => {
  await plane.stop();
  await redis.stop();
  consoleDir.remove();
});

function rest(
  method: string,
  path: string,
  key: string | null,
  body?: unknown,
): Promise<{ status: number; stale: string | null; body: any }> {
  const headers: Record<string, string> = {};
  if (key !== null) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  return fetch(`${plane.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }).then(
    async (res) => ({
      status: res.status,
      stale: res.headers.get('x-cache-stale'),
      body: res.status === 204 ? null : await res.json(),
    }),
  );
}

describe('cache REST API and console operations on a running plane', () => {
  it('writes, reads and deletes a value over /api/v1/cache with an operator key', async () => {
    expect((await rest('PUT', '/api/v1/cache/users/u1', operator, { value: { name: 'Ada' }, ttl: 60_000, tags: ['team:1'] })).status).toBe(
      204,
    );
    const read = await rest('GET', '/api/v1/cache/users/u1', operator);
    expect(read).toEqual({ status: 200, stale: null, body: { namespace: 'users', key: 'u1', value: { name: 'Ada' } } });
    expect(await redis.client().exists('ph:cache:e:users:u1')).toBe(1);
    expect((await rest('DELETE', '/api/v1/cache/users/u1', operator)).status).toBe(200);
    const miss = await rest('GET', '/api/v1/cache/users/u1', operator);
    expect(miss.status).toBe(404);
    expect(miss.body.error.code).toBe('PH_CACHE_MISS');
  });

  it('invalidates by tag over POST /api/v1/cache/:namespace/invalidate', async () => {
    await rest('PUT', '/api/v2/cache/products/p1', operator, { value: 1, tags: ['sale'] });
    await rest('PUT', '/api/v2/cache/products/p2', operator, { value: 2 });
    const res = await rest('POST', '/api/v1/cache/products/invalidate', operator, { tags: ['sale'] });
    expect(res.status).toBe(200);
    expect((await rest('GET', '/api/v1/cache/products/p1', operator)).status).toBe(404);
    expect((await rest('GET', '/api/v1/cache/products/p2', operator)).body.value).toBe(2);
  });

  it('invalidates by any tag it let a value be written with (the longest, 512 characters), and refuses a ttl of 0 by its schema', async () => {
    const long = 't'.repeat(512);
    expect((await rest('PUT', '/api/v2/cache/products/p3', operator, { value: 3, tags: [long] })).status).toBe(204);
    expect(await rest('POST', '/api/v2/cache/products/invalidate', operator, { tags: [long] })).toEqual({
      status: 200,
      stale: null,
      body: { removed: 1 },
    });
    expect((await rest('GET', '/api/v2/cache/products/p3', operator)).status).toBe(404);
    expect(await rest('PUT', '/api/v2/cache/products/p4', operator, { value: 4, ttl: 0 })).toMatchObject({
      status: 400,
      body: { error: { code: 'PH_INVALID_INPUT', field: 'ttl' } },
    });
  });

  it('lets a viewer read stats but not values, and refuses anonymous calls', async () => {
    expect((await rest('GET', '/api/v1/cache/users/u1', viewer)).body.error.code).toBe('PH_FORBIDDEN');
    expect((await rest('PUT', '/api/v1/cache/users/u1', viewer, { value: 1 })).status).toBe(403);
    expect((await rest('GET', '/api/v1/cache/users/u1', null)).status).toBe(401);
    const stats = await plane.op('cache.stats', {}, viewer);
    expect(stats.status).toBe(200);
    expect(stats.body.redis).toMatchObject({ configured: true, state: 'up' });
    expect((await plane.op('cache.clear', { namespace: 'users' }, viewer)).status).toBe(403);
  });

  it('rejects oversized keys and values and bad namespaces with clear errors', async () => {
    // Fastify refuses path parameters over its maxParamLength (100) with 414 before the cache sees
    // them; the cache's own limit (512 bytes) answers through the operations.
    const longKey = 'k'.repeat(600);
    const key = await rest('PUT', `/api/v1/cache/users/${longKey}`, operator, { value: 1 });
    expect([400, 414]).toContain(key.status);
    const inspect = await plane.op('cache.inspect', { namespace: 'users', key: 'é'.repeat(300) });
    expect(inspect.body.error.code).toBe('PH_CACHE_KEY_TOO_LONG');
    const value = await rest('PUT', '/api/v1/cache/users/big', operator, { value: 'x'.repeat(600 * 1024) });
    expect(value.status).toBe(413);
    expect(value.body.error.code).toBe('PH_CACHE_VALUE_TOO_LARGE');
    const ns = await rest('PUT', '/api/v1/cache/bad%20ns/k', operator, { value: 1 });
    expect(ns.body.error.code).toBe('PH_CACHE_BAD_NAMESPACE');
    const noValue = await rest('PUT', '/api/v1/cache/users/k', operator, { nope: 1 });
    expect(noValue.body.error).toMatchObject({ code: 'PH_INVALID_INPUT', field: 'value' });
  });

  it('refuses a key too long for a path segment alike on GET, PUT and DELETE, without echoing it; a 512-byte key of 1532 encoded characters is served', async () => {
    const long = 'k'.repeat(1025);
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const res = await rest(method, `/api/v1/cache/users/${long}`, operator, method === 'PUT' ? { value: 1 } : undefined);
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'PH_INVALID_INPUT', field: 'path' });
      expect(JSON.stringify(res.body)).not.toContain(long);
    }
    const cjk = '語'.repeat(170) + 'ab'; // 512 bytes: 1532 characters encoded, 172 decoded
    expect(Buffer.byteLength(cjk)).toBe(512);
    expect((await rest('PUT', `/api/v1/cache/users/${encodeURIComponent(cjk)}`, operator, { value: 'wide' })).status).toBe(204);
    expect((await rest('GET', `/api/v1/cache/users/${encodeURIComponent(cjk)}`, operator)).body.value).toBe('wide');
  });

  it("refuses '.' and '..' as namespaces, which no standard HTTP client can put in a path, on operations too", async () => {
    for (const namespace of ['.', '..']) {
      expect((await plane.op('cache.put', { namespace, key: 'k', value: 1 })).body.error.code).toBe('PH_CACHE_BAD_NAMESPACE');
      expect((await plane.op('cache.keys', { namespace })).body.error.code).toBe('PH_CACHE_BAD_NAMESPACE');
    }
    expect((await plane.op('cache.put', { namespace: '.hidden', key: 'k', value: 1 })).status).toBe(200);
  });

  it('refuses a grace past ten years as input (400), where Redis would refuse the expiry (a 503 before)', async () => {
    const refused = await rest('PUT', '/api/v2/cache/users/long-grace', operator, { value: 1, grace: 5e27 });
    expect(refused).toMatchObject({ status: 400, body: { error: { code: 'PH_INVALID_INPUT', field: 'grace' } } });
    expect((await rest('GET', '/api/v2/cache/users/long-grace', operator)).status).toBe(404);
    expect((await rest('PUT', '/api/v2/cache/users/long-grace', operator, { value: 1, grace: 3_600_000 })).status).toBe(204);
  });

  it('lists keys, inspects one, clears a namespace through operations, and audits the clear one row, the writes by count', async () => {
    await rest('PUT', '/api/v1/cache/orders/o1', operator, { value: { total: 12 } });
    await rest('PUT', '/api/v1/cache/orders/o2', operator, { value: { total: 3 } });
    const keys = await plane.op('cache.keys', { namespace: 'orders' });
    expect(keys.body.keys.map((k: { key: string }) => k.key)).toEqual(['o1', 'o2']);
    expect(keys.body.keys[0].tiers).toEqual(expect.arrayContaining(['l1', 'l2']));
    expect(keys.body.unavailable).toEqual([]);
    const inspect = await plane.op('cache.inspect', { namespace: 'orders', key: 'o1' });
    expect(inspect.body.preview).toBe('{"total":12}');
    expect(inspect.body.tiers.l2).toMatchObject({ fresh: true });
    const cleared = await plane.op('cache.clear', { namespace: 'orders' }, operator);
    expect(cleared.status).toBe(200);
    expect((await rest('GET', '/api/v1/cache/orders/o1', operator)).status).toBe(404);
    const audit = await plane.op('audit.list', { limit: 20 });
    expect(audit.body.entries.some((e: { action: string; outcome: string }) => e.action === 'cache.clear' && e.outcome === 'ok')).toBe(
      true,
    );
    // A cache write is data-plane traffic: tallied per minute (docs/security.md), counted in usage at once.
    expect(audit.body.entries.some((e: { action: string; detail: string | null }) => e.action === 'cache.put' && e.detail === null)).toBe(
      false,
    );
    const usage = await plane.op('monitoring.usage', {});
    const puts = usage.body.operations.filter((r: { operation: string }) => r.operation === 'cache.put');
    expect(puts.reduce((sum: number, r: { calls: number }) => sum + r.calls, 0)).toBeGreaterThanOrEqual(2);
  });

  it('pages a 60-key namespace in key order with a true count, by * pattern and by tier', async () => {
    for (let i = 1; i <= 60; i += 1)
      expect((await plane.op('cache.put', { namespace: 'people', key: `user:${i}`, value: { i } })).status).toBe(200);
    // Only in L1 and L3 (this node's tiers) once Redis loses it: the tier filter sees the difference.
    await redis.client().del('ph:cache:e:people:user:7');
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await plane.op('cache.keys', { namespace: 'people', limit: 25, ...(cursor === undefined ? {} : { cursor }) });
      expect(page.body.total).toBe(60);
      seen.push(...page.body.keys.map((k: { key: string }) => k.key));
      cursor = page.body.nextCursor ?? undefined;
    } while (cursor !== undefined);
    expect(seen).toEqual(Array.from({ length: 60 }, (_, i) => `user:${i + 1}`).sort());
    const ones = await plane.op('cache.keys', { namespace: 'people', pattern: 'user:1*' });
    expect(ones.body.total).toBe(11);
    expect(ones.body.keys.map((k: { key: string }) => k.key)).toEqual(['user:1', ...Array.from({ length: 10 }, (_, i) => `user:1${i}`)]);
    const exact = await plane.op('cache.keys', { namespace: 'people', pattern: 'user:42' });
    expect(exact.body.keys.map((k: { key: string; tiers: string[] }) => [k.key, [...k.tiers].sort()])).toEqual([
      ['user:42', ['l1', 'l2', 'l3']],
    ]);
    const inRedis = await plane.op('cache.keys', { namespace: 'people', tier: 'l2', limit: 5 });
    expect(inRedis.body.total).toBe(59);
    const seven = await plane.op('cache.keys', { namespace: 'people', pattern: '*:7' });
    expect(seven.body.keys[0].tiers.sort()).toEqual(['l1', 'l3']);
  });

  it('refuses a key with a lone surrogate, which would be the same entry as its U+FFFD spelling, and keeps a well-formed astral key apart', async () => {
    const lone = await plane.op('cache.put', { namespace: 'unicode', key: 'x\ud800', value: 1 });
    expect(lone.status).toBe(400);
    expect(lone.body.error).toMatchObject({ code: 'PH_INVALID_INPUT', field: 'key' });
    expect((await plane.op('cache.get', { namespace: 'unicode', key: 'x\ufffd' })).body.error.code).toBe('PH_CACHE_MISS');
    expect((await plane.op('cache.put', { namespace: 'unicode', key: 'x\ud83d\ude00', value: 2 })).status).toBe(200);
    expect((await plane.op('cache.get', { namespace: 'unicode', key: 'x\ud83d\ude00' })).body.value).toBe(2);
  });

  it('requires a namespace or everything:true to clear, and keys or tags to invalidate', async () => {
    expect((await plane.op('cache.clear', {})).body.error.code).toBe('PH_INVALID_INPUT');
    expect((await plane.op('cache.invalidate', { namespace: 'x' })).body.error.code).toBe('PH_INVALID_INPUT');
  });

  it('exposes hit and miss counters, latency and Redis state on /metrics', async () => {
    await rest('PUT', '/api/v1/cache/m/k', operator, { value: 1 });
    for (let i = 0; i < 32; i += 1) await rest('GET', '/api/v1/cache/m/k', operator);
    await rest('GET', '/api/v1/cache/m/none', operator);
    const text = await fetch(`${plane.url}/metrics`, { headers: { authorization: `Bearer ${viewer}` } }).then((r) => r.text());
    expect(text).toMatch(/pilothouse_cache_requests_total\{namespace="m",result="l1_hit"\} 32/);
    expect(text).toMatch(/pilothouse_cache_latency_seconds\{namespace="m",tier="l1",quantile="0.99"\} \d/);
    expect(text).toMatch(/pilothouse_cache_requests_total\{namespace="m",result="miss"\} 1/);
    expect(text).toMatch(/pilothouse_cache_redis_state 2/);
    expect(text).toContain('pilothouse_cache_l1_entries{namespace="m"} 1');
  });

  it('registers cache.hit_ratio with monitoring so the Overview charts it', async () => {
    const series = await plane.op('monitoring.series');
    expect(series.body.series.map((s: { name: string }) => s.name)).toContain('cache.hit_ratio');
  });

  it('reports the cache service as running with Redis in system.status', async () => {
    const status = await plane.op('system.status');
    expect(status.body.services).toContainEqual(expect.objectContaining({ name: 'cache', state: 'running' }));
  });

  it('marks a stale value served within grace while Redis fails: X-Cache-Stale: 1 on REST, stale: true in the result', async () => {
    expect((await rest('PUT', '/api/v2/cache/grace/k', operator, { value: 'old', ttl: 100, grace: 600_000 })).status).toBe(204);
    await new Promise((r) => setTimeout(r, 200));
    redis.pause();
    try {
      const read = await rest('GET', '/api/v2/cache/grace/k', operator);
      expect(read).toMatchObject({ status: 200, stale: '1', body: { value: 'old', stale: true } });
      const op = await plane.op('cache.get', { namespace: 'grace', key: 'k' }, operator);
      expect(op.body).toMatchObject({ value: 'old', stale: true });
    } finally {
      redis.resume();
    }
  });
});
