import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemCaller } from '../../main/core';
import { startRedis, type TestRedis } from '../helpers/redis-server';
import { RawClient, sleep, startNode, until, type Node } from './helpers';

describe('socket caps on the Redis backplane', () => {
  let redis: TestRedis;
  let a: Node;
  let b: Node;
  let viewer: string;
  let viewerId: string;
  beforeAll(async () => {
    redis = await startRedis();
    a = await startNode({ config: { redisUrl: redis.url }, realtime: { node: 'node-a' } });
    b = await startNode({ config: { redisUrl: redis.url }, realtime: { node: 'node-b' } });
    const created = await a.op('keys.create', { name: 'sub', role: 'viewer' });
    viewer = created.body.secret;
    viewerId = created.body.key.id;
    // Keys are fleet-wide: node B learns this one from Redis.
    await until(async () => (await b.op('system.status', {}, viewer)).status === 200, 10_000, 'the key on node b');
  });
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
    await redis?.stop();
  });

  it("gives an empty room's subscriber a position that, resumed on another node, misses nothing", async () => {
    const first = await RawClient.connect(a.wsUrl, viewer);
    const { position } = (await first.request({ type: 'subscribe', room: 'empty-redis' })).result;
    expect(position).toEqual({ epoch: expect.any(String), offset: 0 });
    first.close();
    for (const data of ['a', 'b', 'c']) await a.plane.running.realtime.publish('empty-redis', data, { caller: systemCaller });
    const again = await RawClient.connect(b.wsUrl, viewer);
    const reply = await again.request({ type: 'subscribe', room: 'empty-redis', since: position });
    expect(reply.result).toMatchObject({ replayed: 3, position: { epoch: position.epoch, offset: 3 } });
    expect(again.take((f) => f.type === 'message').map((m) => m.data)).toEqual(['a', 'b', 'c']);
    expect(again.frames.filter((f) => f.type === 'gap')).toHaveLength(0);
    again.close();
  });

  it('spends one key budget for frames across two nodes', async () => {
    expect((await a.op('ratelimit.tiers.save', { tier: { name: 'ws-ten', limit: 10, windowSeconds: 60, burst: 0 } })).status).toBe(200);
    expect((await a.op('ratelimit.keys.assign', { id: viewerId, tier: 'ws-ten' })).status).toBe(200);
    await until(
      async () =>
        ((await b.op('ratelimit.tiers')).body.keys as { keyId: string; tier: string }[]).some(
          (k) => k.keyId === viewerId && k.tier === 'ws-ten',
        ),
      10_000,
      'the tier on node b',
    );
    const onA = await RawClient.connect(a.wsUrl, viewer);
    const onB = await RawClient.connect(b.wsUrl, viewer);
    const answers: string[] = [];
    for (let i = 0; i < 7; i += 1) {
      for (const c of [onA, onB]) {
        const answer = await c.request({ type: 'ping' });
        answers.push(answer.type === 'pong' ? 'pong' : answer.error.code);
      }
    }
    expect(answers).toEqual([...Array(10).fill('pong'), ...Array(4).fill('PH_RATE_LIMITED')]);
    onA.close();
    onB.close();
    await a.op('ratelimit.keys.assign', { id: viewerId, tier: null });
  });

  it('replays to a live socket what its node missed on pub/sub (subscriber cut), so offsets never jump silently', async () => {
    const sub = await RawClient.connect(b.wsUrl, viewer);
    await sub.request({ type: 'subscribe', room: 'pubsub-cut' });
    const hub = a.plane.running.realtime;
    await hub.publish('pubsub-cut', 1, { caller: systemCaller });
    await sub.next((f) => f.type === 'message');
    // Every node's pub/sub connection dropped: what is published before they resubscribe reaches no node live.
    await redis.client().client('KILL', 'TYPE', 'pubsub');
    for (let i = 2; i <= 6; i += 1) await hub.publish('pubsub-cut', i, { caller: systemCaller });
    let last = 6;
    await until(
      async () => {
        await hub.publish('pubsub-cut', ++last, { caller: systemCaller });
        return sub.frames.some((f) => f.type === 'message' && f.offset > 6);
      },
      10_000,
      'node b to hear the room again',
    );
    await until(() => sub.frames.some((f) => f.type === 'message' && f.offset === last), 5000, 'the last message');
    expect(sub.take((f) => f.type === 'message').map((m) => m.offset)).toEqual(Array.from({ length: last - 1 }, (_, i) => i + 2));
    expect(sub.frames.filter((f) => f.type === 'gap')).toHaveLength(0);
    sub.close();
  });

  it('tells a socket that stayed connected through an emptied Redis with an epoch-changed gap, then gives it the new epoch from offset 1', async () => {
    const operator = await a.key('operator', 'live-epoch-pub');
    const sub = await RawClient.connect(a.wsUrl, operator);
    await sub.request({ type: 'subscribe', room: 'live-epoch' });
    const hub = a.plane.running.realtime;
    let old = { epoch: '', offset: 0 };
    for (let i = 1; i <= 3; i += 1) old = (await hub.publish('live-epoch', i, { caller: systemCaller })).position;
    await until(() => sub.frames.filter((f) => f.type === 'message').length === 3, 5000, 'the first epoch');
    sub.take((f) => f.type === 'message');

    await redis.kill();
    await redis.restart();
    await until(() => hub.backplane.healthy(), 10_000, 'the backplane back on the empty Redis');
    let published: { epoch: string; offset: number } | null = null;
    for (let attempt = 0; published === null && attempt < 100; attempt += 1) {
      published = await hub.publish('live-epoch', 'after', { caller: systemCaller }).then(
        (r) => r.position,
        () => null,
      );
      if (published === null) await sleep(100);
    }
    expect(published).not.toBeNull();
    expect(published!.epoch).not.toBe(old.epoch);
    const message = await sub.next((f) => f.type === 'message', 10_000);
    const gaps = sub.take((f) => f.type === 'gap');
    expect(gaps).toEqual([
      {
        type: 'gap',
        room: 'live-epoch',
        epoch: old.epoch,
        from: 4,
        to: null,
        reason: 'epoch-changed',
        position: { epoch: published!.epoch, offset: 0 },
      },
    ]);
    expect(message).toMatchObject({ epoch: published!.epoch, offset: 1, data: 'after' });
    // Once each: the next message follows it directly (frames of a room keep their order).
    await hub.publish('live-epoch', 'next', { caller: systemCaller });
    expect(await sub.next((f) => f.type === 'message')).toMatchObject({ offset: 2, data: 'next' });
    expect(sub.frames.filter((f) => f.type === 'message' || f.type === 'gap')).toHaveLength(0);
    sub.close();
  });

  it('tells a socket in a quiet room that its epoch went with an emptied Redis, without waiting for a message', async () => {
    const sub = await RawClient.connect(a.wsUrl, viewer);
    await sub.request({ type: 'subscribe', room: 'quiet-epoch' });
    const hub = a.plane.running.realtime;
    const old = (await hub.publish('quiet-epoch', 'before', { caller: systemCaller })).position;
    await sub.next((f) => f.type === 'message');

    await redis.kill();
    await redis.restart();
    // The node notices the emptied Redis by its epoch (checked every 2 s and on reconnect).
    const gap = await sub.next((f) => f.type === 'gap', 20_000);
    expect(gap).toEqual({
      type: 'gap',
      room: 'quiet-epoch',
      epoch: old.epoch,
      from: 2,
      to: null,
      reason: 'epoch-changed',
      position: { epoch: expect.any(String), offset: 0 },
    });
    expect(gap.position.epoch).not.toBe(old.epoch);
    const next = await hub.publish('quiet-epoch', 'after', { caller: systemCaller });
    expect(next.position).toEqual({ epoch: gap.position.epoch, offset: 1 });
    expect(await sub.next((f) => f.type === 'message')).toMatchObject({ epoch: gap.position.epoch, offset: 1, data: 'after' });
    expect(sub.frames.filter((f) => f.type === 'gap')).toHaveLength(0);
    sub.close();
  });
});
