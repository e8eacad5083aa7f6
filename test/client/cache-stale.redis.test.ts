import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Pilothouse, type WebSocketFactory } from '../../client/src';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';
import { startRedis, type TestRedis } from '../helpers/redis-server';

/** The client's L1 and a value the server served stale, within grace, while its Redis failed. */
describe('the client cache and stale answers', () => {
  let redis: TestRedis;
  let plane: TestPlane;
  let ph: Pilothouse;

  beforeAll(async () => {
    redis = await startRedis();
    plane = await startTestPlane({ redisUrl: redis.url });
    const key = (await plane.op('keys.create', { name: 'stale program', role: 'operator' })).body.secret;
    ph = new Pilothouse({ url: plane.url, apiKey: key, auth: 'key', WebSocket: WebSocket as unknown as WebSocketFactory });
  });
  afterAll(async () => {
    ph?.close();
    redis?.resume();
    await plane?.stop();
    await redis?.stop();
  });

  it('answers with a stale value but does not hold it in L1, so the next read asks the server', async () => {
    expect(await ph.cache.get('grace', 'warm-up')).toBeUndefined(); // L1 follows the hub from here
    await ph.cache.set('grace', 'k', 'old', { ttl: 100, grace: 600_000 });
    await new Promise((r) => setTimeout(r, 200));
    redis.pause();
    try {
      expect(await ph.cache.get('grace', 'k')).toBe('old');
    } finally {
      redis.resume();
    }
    expect(ph.cache.l1Size).toBe(0);
  });
});
