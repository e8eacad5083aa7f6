import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';
import { startRedis, type TestRedis } from '../helpers/redis-server';

describe('cache: dropping keys by pattern, and the inspector value for a tree', () => {
  let redis: TestRedis;
  let plane: TestPlane;
  let viewer: string;

  beforeAll(async () => {
    redis = await startRedis();
    plane = await startTestPlane({ redisUrl: redis.url });
    viewer = (await plane.op('keys.create', { name: 'watcher', role: 'viewer' })).body.secret;
    for (let i = 1; i <= 12; i += 1) await plane.op('cache.put', { namespace: 'users', key: `user:${i}`, value: { id: i } });
    for (let i = 1; i <= 3; i += 1) await plane.op('cache.put', { namespace: 'users', key: `team:${i}`, value: { id: i } });
  }, 30_000);
  afterAll(async () => {
    await plane?.stop();
    await redis?.stop();
  });

  it('drops every key the pattern matches in every tier, counted as cache.keys counts them, and keeps the rest', async () => {
    const count = await plane.op('cache.keys', { namespace: 'users', pattern: 'user:*', limit: 1 });
    expect(count.body.total).toBe(12);
    const { status, body } = await plane.op('cache.invalidateMatching', { namespace: 'users', pattern: 'user:*' });
    expect(status).toBe(200);
    expect(body.matched).toBe(12);
    expect(body.removed).toBeGreaterThanOrEqual(12);
    // Redis answered, so the count is whole (key-list-outage.redis.test.ts covers it unread).
    expect(body.unavailable).toEqual([]);
    expect((await plane.op('cache.keys', { namespace: 'users', pattern: 'user:*' })).body.total).toBe(0);
    expect((await plane.op('cache.get', { namespace: 'users', key: 'user:3' })).body.error.code).toBe('PH_CACHE_MISS');
    const inspected = await plane.op('cache.inspect', { namespace: 'users', key: 'user:3' });
    expect(inspected.body.tiers).toEqual({ l1: null, l2: null, l3: null });
    expect((await plane.op('cache.keys', { namespace: 'users', pattern: 'team:*' })).body.total).toBe(3);
    const audit = await plane.op('audit.list', { limit: 20 });
    expect(audit.body.entries.some((e: { action: string }) => e.action === 'cache.invalidateMatching')).toBe(true);
  });

  it('is refused to a viewer', async () => {
    const denied = await plane.op('cache.invalidateMatching', { namespace: 'users', pattern: '*' }, viewer);
    expect(denied.status).toBe(403);
    expect((await plane.op('cache.keys', { namespace: 'users', pattern: 'team:*' })).body.total).toBe(3);
  });

  it('gives the inspector the value itself for a tree, and only the preview for a value past 256 KiB', async () => {
    const nested = { name: 'Ada', roles: ['admin', 'ops'], address: { city: 'Leeds', zip: null } };
    await plane.op('cache.put', { namespace: 'docs', key: 'small', value: nested });
    await plane.op('cache.put', { namespace: 'docs', key: 'huge', value: { blob: 'x'.repeat(300 * 1024) } });
    expect((await plane.op('cache.inspect', { namespace: 'docs', key: 'small' })).body.value).toEqual(nested);
    const huge = (await plane.op('cache.inspect', { namespace: 'docs', key: 'huge' })).body;
    expect(huge.value).toBeUndefined();
    expect(huge.preview.length).toBeLessThanOrEqual(2001);
  });
});
