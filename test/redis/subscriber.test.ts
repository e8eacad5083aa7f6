import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
});
