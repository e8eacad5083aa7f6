import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type TestRedis } from '../helpers/redis-server';
import { expectPromtoolAccepts, sample } from '../monitoring/exposition';
import { until } from '../helpers/until';
import { startNode, type JobsNode } from './jobs-nodes';

describe('a node whose clock is off', () => {
  let redis: TestRedis;
  let a: JobsNode;
  let c: JobsNode;
  /** Node C's clock: 90 s ahead of the machine's (and so of Redis's) until a test sets it right. */
  let offsetMs = 90_000;

  beforeAll(async () => {
    redis = await startRedis();
    const fleet = { clockSkew: { checkMs: 200 } };
    a = await startNode(redis.url, { fleet });
    c = await startNode(redis.url, { fleet, clock: { now: () => Date.now() + offsetMs } });
  }, 60_000);
  afterAll(async () => {
    await c?.remove();
    await a?.remove();
    await redis?.stop();
  });

  const clockService = (n: JobsNode) => n.plane.status().services.find((s) => s.name === 'fleet-clock');

  it('is degraded from its start, naming the skew in seconds and NTP; a node in time is not', async () => {
    expect(clockService(c)).toMatchObject({
      state: 'degraded',
      detail: expect.stringMatching(/^this node's clock is 90\.\d s ahead of Redis's: .*30 s.*NTP/),
    });
    expect(clockService(a)).toMatchObject({
      state: 'running',
      detail: expect.stringMatching(/^clock \d\.\d s (ahead of|behind) Redis's$/),
    });
    await until(
      async () => {
        const probe = (await c.op('monitoring.health')).body.dependencies?.find((d: { name: string }) => d.name === 'fleet-clock');
        return probe?.status === 'degraded' && /90\.\d s ahead/.test(probe.detail as string);
      },
      10_000,
      'the health check degraded',
    );
  });

  it('exposes the skew as a metric', async () => {
    const text = await fetch(`${c.plane.url}/metrics`, { headers: { authorization: `Bearer ${c.adminKey}` } }).then((r) => r.text());
    const value = sample(text, 'pilothouse_fleet_clock_skew_seconds');
    expect(value).toBeGreaterThan(89);
    expect(value).toBeLessThan(91);
    expectPromtoolAccepts(text);
  });

  it('is running again once its clock agrees with Redis’s', async () => {
    offsetMs = 0;
    await until(async () => clockService(c)?.state === 'running', 5_000, 'the clock back in agreement');
  });
});
