import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDIS_CALL_TIMEOUT_MS } from '../../main/redis';
import { Subscriber } from '../../main/redis/subscriber';
import { startRedis, type TestRedis } from '../helpers/redis-server';
import { until } from '../helpers/until';

describe('Subscriber', () => {
  let redis: TestRedis;
  let source: Redis;
  beforeAll(async () => {
    redis = await startRedis();
    source = new Redis(redis.url, { lazyConnect: true });
    source.on('error', () => undefined);
  });
  afterAll(async () => {
    source.disconnect();
    await redis.stop();
  });

  const retryFast = { retryStrategy: () => 50, maxRetriesPerRequest: null };

  it('subscribes again by itself after Redis restarts, and stops hearing a channel it left', async () => {
    const sub = new Subscriber(source, retryFast, () => undefined);
    const heard: string[] = [];
    sub.client.on('message', (channel: string, text: string) => heard.push(`${channel}:${text}`));
    await sub.subscribe('a', 'b');
    const publisher = redis.client();
    await publisher.publish('a', 'before');
    await until(() => heard.includes('a:before'));

    await redis.kill();
    await redis.restart();
    const after = redis.client();
    await until(
      async () => {
        await after.publish('b', 'after');
        return heard.includes('b:after');
      },
      10_000,
      'the resubscribed channel to deliver',
    );

    expect(heard).toEqual(expect.arrayContaining(['a:before', 'b:after']));

    sub.unsubscribe('a');
    await until(async () => (await after.pubsub('NUMSUB', 'a'))[1] === 0);
    expect(await after.pubsub('NUMSUB', 'b')).toEqual(['b', 1]);
    sub.client.disconnect();
  });

  it('subscribes at start within the Redis deadline on a stopped server (SIGSTOP), and once it answers', async () => {
    // As the node's shared client is before a service starts.
    if (source.status !== 'ready') await source.connect();
    const sub = new Subscriber(source, retryFast, () => undefined);
    const heard: string[] = [];
    sub.client.on('message', (channel: string, text: string) => heard.push(`${channel}:${text}`));
    redis.pause();
    try {
      const started = performance.now();
      await expect(sub.subscribeAtStart('c')).rejects.toMatchObject({ code: 'PH_REDIS_UNAVAILABLE' });
      expect(performance.now() - started).toBeLessThan(REDIS_CALL_TIMEOUT_MS + 1_000);
    } finally {
      redis.resume();
    }
    const publisher = redis.client();
    await until(
      async () => {
        await publisher.publish('c', 'later');
        return heard.includes('c:later');
      },
      10_000,
      'the channel to deliver once Redis answers',
    );
    sub.client.disconnect();
  });
});
