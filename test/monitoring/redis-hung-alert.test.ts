import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../main/clock';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';
import { startRedis, type TestRedis } from '../helpers/redis-server';

describe('a hung Redis (SIGSTOP) fires the default Redis down rule', () => {
  let redis: TestRedis;
  let t: TestPlane;
  // The plane's clock runs with the wall clock, and jumps when the test moves it past the rule's window.
  let offset = 0;
  const clock: Clock = { now: () => Date.now() + offset };

  beforeAll(async () => {
    redis = await startRedis();
    t = await startTestPlane({ redisUrl: redis.url }, { clock });
  });
  afterAll(async () => {
    redis?.resume();
    await t?.stop();
    await redis?.stop();
  });

  it('reads redis.up 0 once the probe times out, though the socket stays open, and fires within the rule window', async () => {
    const monitoring = t.plane.running.monitoring;
    const rule = (await t.op('monitoring.alerts')).body.rules.find((r: { id: string }) => r.id === 'redis-down');
    expect(rule.forSeconds).toBe(30);
    await monitoring.health.checkAll();
    expect((await monitoring.tick()).values['redis.up']).toBe(1);

    redis.pause();
    await monitoring.health.checkAll();
    // ioredis still says ready: only the PING's timeout knows.
    expect(t.plane.running.redis?.connected).toBe(true);
    expect(monitoring.health.get('redis')?.status).toBe('down');
    expect((await monitoring.tick()).values['redis.up']).toBe(0);
    expect(monitoring.alerts.stateOf('redis-down')).toBe('pending');

    offset += rule.forSeconds * 1000 + 1_000;
    await monitoring.health.checkAll();
    await monitoring.tick();
    expect(monitoring.alerts.stateOf('redis-down')).toBe('firing');
    const overview = (await t.op('monitoring.overview')).body;
    expect(overview.dependencies.find((d: { name: string }) => d.name === 'redis')?.status).toBe('down');

    redis.resume();
    await monitoring.health.checkAll();
    await monitoring.tick();
    expect(monitoring.alerts.stateOf('redis-down')).toBe('resolved');
  }, 30_000);
});
