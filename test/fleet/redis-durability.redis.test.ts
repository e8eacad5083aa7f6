import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { checkRedisDurability } from '../../main/fleet';
import { startRedis, type TestRedis } from '../helpers/redis-server';
import { startNode, type JobsNode } from './jobs-nodes';

let redis: TestRedis;
const nodes: JobsNode[] = [];
const clients: Redis[] = [];

beforeAll(async () => {
  redis = await startRedis(); // started with --appendonly no
});
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await redis.stop();
});
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.remove();
  await redis.client().config('SET', 'appendonly', 'no');
});

describe('Redis durability, stated and checked', () => {
  it('a Redis without AOF is reported as PH_REDIS_NOT_DURABLE in the status and /readyz, and the node still serves', async () => {
    const n = await startNode(redis.url);
    nodes.push(n);
    const fleet = n.plane.status().services.find((s) => s.name === 'fleet-redis');
    expect(fleet?.state).toBe('degraded');
    expect(fleet?.detail).toContain('PH_REDIS_NOT_DURABLE');
    const ready = await fetch(`${n.plane.url}/readyz`, { headers: { authorization: `Bearer ${n.adminKey}` } });
    const body = (await ready.json()) as { ready: boolean; services: { name: string; detail?: string }[] };
    expect(ready.status).toBe(200);
    expect(body.services.find((s) => s.name === 'fleet-redis')?.detail).toContain('PH_REDIS_NOT_DURABLE');
  });

  it('with requireDurableRedis a node refuses to start on a Redis without AOF, and starts once AOF is on', async () => {
    await expect(startNode(redis.url, { config: { requireDurableRedis: true } })).rejects.toMatchObject({ code: 'PH_REDIS_NOT_DURABLE' });
    await redis.client().config('SET', 'appendonly', 'yes');
    const n = await startNode(redis.url, { config: { requireDurableRedis: true } });
    nodes.push(n);
    const fleet = n.plane.status().services.find((s) => s.name === 'fleet-redis');
    expect(fleet?.state).toBe('running');
    expect(fleet?.detail).toContain('appendonly yes');
  });

  it('a Redis user refused CONFIG still gets an answer, from INFO persistence', async () => {
    await redis.client().call('ACL', 'SETUSER', 'noconfig', 'on', '>pw', '~*', '&*', '+@all', '-config');
    const limited = new Redis(`redis://noconfig:pw@127.0.0.1:${redis.port}`, { maxRetriesPerRequest: 1 });
    clients.push(limited);
    await expect(limited.config('GET', 'appendonly')).rejects.toThrow(/NOPERM/);
    expect(await checkRedisDurability(limited)).toMatchObject({ durable: false, detail: expect.stringContaining('CONFIG was refused') });
    await redis.client().config('SET', 'appendonly', 'yes');
    expect((await checkRedisDurability(limited)).durable).toBe(true);
  });
});
