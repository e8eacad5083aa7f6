import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RateLimits } from '../../main/ratelimit';
import { freePort } from '../helpers/redis-server';
import { until } from '../helpers/until';

const tier = { name: 'five', limit: 5, windowSeconds: 60, burst: 0 };

describe('the rate limiter against a Redis that stops answering', () => {
  let server: ChildProcess;
  let client: Redis;
  beforeAll(async () => {
    const port = await freePort();
    server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    });
    client = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 1 });
    client.on('error', () => undefined);
    await until(async () => (await client.ping().catch(() => '')) === 'PONG', 10_000, 'redis-server');
  });
  afterAll(() => {
    client?.disconnect();
    server?.kill('SIGCONT');
    server?.kill('SIGKILL');
  });

  it('counts in Redis, then on a frozen server answers from the local stand-in within the timeout and says so', async () => {
    const limits = new RateLimits(client);
    expect((await limits.consume('key:a', tier)).remaining).toBe(4);
    expect(limits.backend()).toBe('redis');
    expect(await client.keys('ph:rl:five*')).toHaveLength(1);

    server.kill('SIGSTOP');
    const started = performance.now();
    const decision = await limits.consume('key:a', tier);
    expect(performance.now() - started).toBeLessThan(1_500);
    expect(decision.allowed).toBe(true);
    expect(client.status).toBe('ready');
    expect(limits.backend()).toBe('memory (Redis unreachable)');
    server.kill('SIGCONT');
  });

  it('after a timeout counts locally without waiting, lets one request a second try Redis, and is back on Redis once it answers', async () => {
    const limits = new RateLimits(client);
    // Each subject's first request reserves from Redis: every one of these would ask it.
    const timed = async (subject: string): Promise<number> => {
      const started = performance.now();
      expect((await limits.consume(subject, tier)).allowed).toBe(true);
      return performance.now() - started;
    };
    server.kill('SIGSTOP');
    try {
      expect(await timed('key:first')).toBeGreaterThan(200);
      const after = await Promise.all(Array.from({ length: 20 }, (_, i) => timed(`key:next-${i}`)));
      expect(Math.max(...after)).toBeLessThan(100);
      await new Promise((r) => setTimeout(r, 1_100));
      // One request tries Redis again; the others keep to the local count meanwhile.
      const [trial, ...others] = await Promise.all(Array.from({ length: 5 }, (_, i) => timed(`key:retry-${i}`)));
      expect(trial).toBeGreaterThan(200);
      expect(Math.max(...others)).toBeLessThan(100);
    } finally {
      server.kill('SIGCONT');
    }
    await new Promise((r) => setTimeout(r, 1_100));
    await limits.consume('key:back', tier);
    expect(await client.exists('ph:rl:five:{key:back}')).toBe(1);
  });
});
