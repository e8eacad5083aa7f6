import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { closeSettled } from '../../main/batch/bullmq-close';
import { JobSchedules } from '../../main/batch/job-schedules';
import { startRedis, type TestRedis } from '../helpers/redis-server';
import { until } from '../helpers/until';
import { openTestDb } from './fixtures';

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

  it('fails the re-registration of a schedule when the queue loses Redis while setting up, instead of hanging with a rejection no one handles', async () => {
    redis = await startRedis();
    client = new Redis(redis.url, { maxRetriesPerRequest: null });
    client.on('error', () => undefined);
    await until(() => client!.status === 'ready', 5_000, 'the client to connect');
    const t = openTestDb();
    try {
      const schedules = new JobSchedules(t.db, () => Date.now());
      const opts = { repeat: { pattern: '0 3 * * *', key: 'nightly' } };
      schedules.add({
        id: 'ph-nightly/nightly',
        queue: 'ph-nightly',
        name: 'nightly',
        data: { ph: 1, payload: null, timeoutMs: null },
        opts,
      });
      // A hung Redis: the queue's version probe (INFO) is sent and never answered.
      redis.pause();
      const queue = new Queue('ph-nightly', { connection: client });
      queue.on('error', () => undefined);
      const restoring = schedules.restore(() => queue);
      // The node stops meanwhile: its connection closes under the probe.
      client.disconnect();
      await expect(restoring).rejects.toThrow('Connection is closed.');
    } finally {
      redis.resume();
      t.close();
    }
  });
});
