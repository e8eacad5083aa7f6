import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type TestRedis } from '../helpers/redis-server';
import { RawClient, knownOn, sleep, startNode, type Node } from './helpers';

describe('resuming on the Redis backplane while the room is busy', () => {
  let redis: TestRedis;
  let a: Node;
  let b: Node;
  beforeAll(async () => {
    redis = await startRedis();
    a = await startNode({ config: { redisUrl: redis.url }, realtime: { node: 'node-a' } });
    b = await startNode({ config: { redisUrl: redis.url }, realtime: { node: 'node-b' } });
  });
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
    await redis?.stop();
  });

  it('120 resumes racing live publishes each get every offset once, in order: the replayed tail is not delivered again live', async () => {
    const operator = await a.key('operator', 'pub');
    const viewer = await a.key('viewer', 'sub');
    // Made on A, the keys reach B through Redis: one key works on both nodes.
    await knownOn([b.url], operator, viewer);
    const pub = await RawClient.connect(a.wsUrl, operator);
    let latest = { epoch: '', offset: 0 };
    let publishing = true;
    const publisher = (async () => {
      for (let i = 0; publishing; i += 1) {
        const reply = await pub.request({ type: 'publish', room: 'busy', data: i });
        // A publisher past its rate limit is told so (an error frame): it slows down and goes on.
        if (reply.type === 'reply') latest = reply.result.position;
        else await sleep(20);
      }
    })();
    while (latest.offset < 5) await sleep(5);
    let duplicates = 0;
    let outOfOrder = 0;
    for (let round = 0; round < 120; round += 1) {
      const since = { epoch: latest.epoch, offset: Math.max(0, latest.offset - 3) };
      const sub = await RawClient.connect(b.wsUrl, viewer);
      await sub.request({ type: 'subscribe', room: 'busy', since });
      await sleep(15); // live frames follow the replay
      const offsets = sub.take((f) => f.type === 'message').map((m) => m.offset as number);
      for (let i = 1; i < offsets.length; i += 1) {
        if (offsets[i] === offsets[i - 1]) duplicates += 1;
        else if ((offsets[i] as number) < (offsets[i - 1] as number)) outOfOrder += 1;
      }
      expect(offsets[0]).toBe(since.offset + 1);
      sub.close();
    }
    publishing = false;
    await publisher;
    pub.close();
    expect({ duplicates, outOfOrder }).toEqual({ duplicates: 0, outOfOrder: 0 });
  }, 60_000);
});
