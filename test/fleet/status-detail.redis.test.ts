import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisTrouble } from '../../main/fleet';
import { PhError } from '../../contract/errors';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';
import { startRedis, type TestRedis } from '../helpers/redis-server';
import { until } from '../helpers/until';

interface Readiness {
  services: { name: string; state: string; detail?: string }[];
}

describe("a service's status names a Redis failure by its kind, never the driver's message", () => {
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

  it('says "unreachable" on /readyz while Redis is down, to any signed-in caller', async () => {
    const viewer = (await t.op('keys.create', { name: 'dashboard', role: 'viewer' })).body.secret as string;
    await redis.kill();
    let details: string[] = [];
    await until(
      async () => {
        const res = await fetch(`${t.url}/readyz`, { headers: { authorization: `Bearer ${viewer}` } });
        const body = (await res.json()) as Readiness;
        details = body.services.flatMap((s) => (s.detail?.startsWith('redis: ') === true ? [s.detail] : []));
        return details.length > 0;
      },
      20_000,
      'a service reporting Redis trouble',
    );
    for (const detail of details) {
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
