import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemCaller } from '../../main/core';
import type { RealtimeHub } from '../../main/realtime';
import { startRedis, type TestRedis } from '../helpers/redis-server';
import { RawClient, sleep, startNode, until, type Node } from './helpers';

/** Publishes once the hub's backplane is back on the restarted (empty) Redis. */
async function publishWhenBack(hub: RealtimeHub, room: string, data: unknown): Promise<{ epoch: string; offset: number }> {
  await until(() => hub.backplane.healthy(), 15_000, 'the backplane back on the empty Redis');
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const position = await hub.publish(room, data, { caller: systemCaller }).then(
      (r) => r.position,
      () => null,
    );
    if (position !== null) return position;
    await sleep(100);
  }
  throw new Error('could not publish after Redis came back');
}

describe('socket requests while Redis is down', () => {
  let redis: TestRedis;
  let a: Node;
  let operator: string;
  const logged: Record<string, unknown>[] = [];
  beforeAll(async () => {
    redis = await startRedis();
    const logger = pino({ level: 'warn' }, { write: (line: string) => void logged.push(JSON.parse(line) as Record<string, unknown>) });
    a = await startNode({ config: { redisUrl: redis.url }, realtime: { node: 'node-a' }, logger });
    operator = await a.key('operator', 'outage');
  });
  afterAll(async () => {
    await a?.stop();
    await redis?.stop();
  });

  it('keeps a connection in its room when a repeat subscribe fails during the outage: it gets the epoch-changed gap and the messages after', async () => {
    const hub = a.plane.running.realtime;
    const sub = await RawClient.connect(a.wsUrl, operator);
    const first = await sub.request({ type: 'subscribe', room: 'kept' });
    const before = (await hub.publish('kept', 'before', { caller: systemCaller })).position;
    expect(await sub.next((f) => f.type === 'message')).toMatchObject({ data: 'before', offset: 1 });

    await redis.kill();
    const repeat = await sub.request({ type: 'subscribe', room: 'kept', since: first.result.position }, 15_000);
    expect(repeat).toMatchObject({ type: 'error', error: { code: 'PH_REALTIME_UNAVAILABLE' } });

    await redis.restart();
    const after = await publishWhenBack(hub, 'kept', 'after');
    expect(after.epoch).not.toBe(before.epoch);
    const message = await sub.next((f) => f.type === 'message', 10_000);
    expect(message).toMatchObject({ data: 'after', epoch: after.epoch });
    expect(sub.take((f) => f.type === 'gap')).toEqual([
      expect.objectContaining({ reason: 'epoch-changed', epoch: before.epoch, from: 2, to: null }),
    ]);
    expect(repeat.error.message).toContain('still in kept');
    sub.close();
  });

  it('answers subscribe, history and presence within the deadline a publish has, with PH_REALTIME_UNAVAILABLE, and logs no error', async () => {
    const sub = await RawClient.connect(a.wsUrl, operator);
    await sub.request({ type: 'subscribe', room: 'outage-reads' });
    logged.length = 0;
    await redis.kill();
    const answers: { type: string; code: string; ms: number }[] = [];
    for (const frame of [
      { type: 'publish', room: 'outage-reads', data: 1 },
      { type: 'subscribe', room: 'outage-new' },
      { type: 'history', room: 'outage-reads' },
      { type: 'presence', room: 'outage-reads' },
    ]) {
      const started = Date.now();
      const answer = await sub.request(frame, 15_000);
      answers.push({ type: frame.type, code: answer.error?.code ?? answer.type, ms: Date.now() - started });
    }
    for (const answer of answers) {
      expect(answer, answer.type).toMatchObject({ code: 'PH_REALTIME_UNAVAILABLE' });
      expect(answer.ms, answer.type).toBeLessThan(3000);
    }
    // No frame failed as an internal error (logged with the ioredis error's stack).
    expect(logged.filter((line) => String(line.msg).startsWith('realtime'))).toEqual([]);
    await redis.restart();
    await until(() => a.plane.running.realtime.backplane.healthy(), 15_000, 'the backplane back');
    sub.close();
  });
});
