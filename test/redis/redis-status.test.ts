import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PhError } from '../../contract/errors';
import { redisTrouble } from '../../main/fleet';
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

  it("names a Redis failure by its kind on /readyz, to any signed-in caller, never the driver's message", async () => {
    const viewer = (await t.op('keys.create', { name: 'dashboard', role: 'viewer' })).body.secret as string;
    await redis.kill();
    const readiness = await eventually(
      async () =>
        (
          (await (await fetch(`${t.url}/readyz`, { headers: { authorization: `Bearer ${viewer}` } })).json()) as {
            services: { detail?: string }[];
          }
        ).services.flatMap((s) => (s.detail?.startsWith('redis: ') === true ? [s.detail] : [])),
      (details) => details.length > 0,
      20_000,
    );
    for (const detail of readiness) {
      expect(detail).not.toMatch(/maxRetriesPerRequest|ECONNREFUSED|127\.0\.0\.1|Reached the max/);
      expect(detail).toMatch(/^redis: (unreachable|a command failed|PH_[A-Z_]+)$/);
    }
  });

  it('reads a coded error as its code, a connection failure as unreachable, anything else as a failed command', () => {
    expect(redisTrouble(new PhError('PH_REDIS_UNAVAILABLE'))).toBe('PH_REDIS_UNAVAILABLE');
    expect(redisTrouble(new Error('Reached the max retries per request limit (which is 1). Refer to "maxRetriesPerRequest"'))).toBe(
      'unreachable',
    );
    expect(redisTrouble(new Error('connect ECONNREFUSED 127.0.0.1:6391'))).toBe('unreachable');
    expect(redisTrouble(new Error('WRONGTYPE Operation against a key holding the wrong kind of value'))).toBe('a command failed');
  });
});
