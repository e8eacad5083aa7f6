import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { closeSettled } from '../../main/batch/bullmq-close';
import { startRedis, type TestRedis } from '../helpers/redis-server';
import { until } from '../helpers/until';

/**
 * BullMQ sets each queue's connection up in the background (it asks Redis its version) and reports
 * a failure of that as an `error` event; `close()` removes the listeners. A node stopping while a
 * queue it just opened is still setting up must leave that failure a listener, or it surfaces as an
 * unhandled "Connection is closed." rejection (seen in CI during cluster and monitoring suites).
 */
describe('closing BullMQ objects at stop', () => {
  let redis: TestRedis | undefined;
  let client: Redis | undefined;
  afterEach(async () => {
    client?.disconnect();
    await redis?.stop();
  });

  it('leaves a queue still setting up on a lost Redis with its listeners, so the failure is reported, not unhandled', async () => {
    redis = await startRedis();
    client = new Redis(redis.url, { maxRetriesPerRequest: null, retryStrategy: () => 100 });
    client.on('error', () => undefined);
    await until(() => client!.status === 'ready', 5_000, 'the client to connect');
    await redis.kill();
    await until(() => client!.status !== 'ready', 5_000, 'the client to notice');

    const queue = new Queue('ph-settle', { connection: client });
    const errors: string[] = [];
    queue.on('error', (err) => errors.push(err.message));
    await closeSettled([queue], 'leave', 300);
    expect(queue.closing).toBeUndefined();

    client.disconnect();
    await until(() => errors.length > 0, 5_000, 'the set-up failure to reach the queue');
    expect(errors[0]).toMatch(/Connection is closed|ECONNREFUSED/);
  });

  it('closes a queue whose set-up finished, and one that holds its own connection even when it has not', async () => {
    redis = await startRedis();
    client = new Redis(redis.url, { maxRetriesPerRequest: null });
    client.on('error', () => undefined);
    const ready = new Queue('ph-ready', { connection: client });
    await ready.waitUntilReady();
    await closeSettled([ready], 'leave', 300);
    expect(ready.closing).toBeDefined();

    await redis.kill();
    await until(() => client!.status !== 'ready', 5_000, 'the client to notice');
    const own = new Queue('ph-own', { connection: { host: '127.0.0.1', port: redis.port, retryStrategy: () => 100 } });
    own.on('error', () => undefined);
    await closeSettled([own], 'close', 300);
    expect(own.closing).toBeDefined();
  });
});
