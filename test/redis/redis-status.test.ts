import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';
import { startRedis, type TestRedis } from '../helpers/redis-server';

async function eventually<T>(read: () => Promise<T>, accept: (value: T) => boolean, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last = await read();
  while (!accept(last)) {
    if (Date.now() > deadline) throw new Error(`gave up; last value ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 100));
    last = await read();
  }
  return last;
}

describe('a node with Redis', () => {
  let redis: TestRedis;
  let t: TestPlane;

  beforeAll(async () => {
    redis = await startRedis();
    t = await startTestPlane({ redisUrl: redis.url });
  });
  afterAll(async () => {
    await t?.stop();
    await redis?.stop();
  });

  it('reports Redis connected, and stays ready but degraded while Redis is down, then recovers', async () => {
    const status = await t.op('system.status');
    expect(status.body.redis).toEqual({ configured: true, connected: true, status: 'ready' });
    expect(status.body.services.find((s: { name: string }) => s.name === 'redis').state).toBe('running');

    await redis.kill();
    const down = await eventually(
      () => t.op('system.status'),
      (r) => r.body.redis.connected === false,
    );
    expect(down.body.services.find((s: { name: string }) => s.name === 'redis').state).toBe('degraded');
    const ready = await fetch(`${t.url}/readyz`);
    expect(ready.status).toBe(200);

    await redis.restart();
    await eventually(
      () => t.op('system.status'),
      (r) => r.body.redis.connected === true,
    );
  });
});
