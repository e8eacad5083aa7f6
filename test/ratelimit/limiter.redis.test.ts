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
});
