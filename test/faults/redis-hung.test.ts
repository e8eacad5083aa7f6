import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { REDIS_CALL_TIMEOUT_MS } from '../../main/redis';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';
import { startRedis, type TestRedis } from '../helpers/redis-server';
import { until } from '../helpers/until';

/** Every operation that needs Redis, with an input it accepts. */
const redisCalls: [string, unknown][] = [
  ['jobs.enqueue', { type: 'cache.warm', payload: {} }],
  ['jobs.stats', {}],
  ['jobs.list', {}],
  ['jobs.get', { id: 'cache.warm/1' }],
  ['realtime.publish', { room: 'fault', data: { n: 1 } }],
  ['realtime.presence', { room: 'fault' }],
  ['realtime.history', { room: 'fault' }],
  ['services.list', {}],
  ['sagas.list', {}],
  ['sagas.get', { id: 'no-such-saga' }],
  ['sagas.start', { type: 'services.shift-traffic', input: { service: 'web', newInstanceIds: ['web-new'] } }],
  ['sagas.cancel', { id: 'no-such-saga' }],
];

describe('calls that need Redis while Redis is hung or down', () => {
  let redis: TestRedis;
  let t: TestPlane;
  beforeAll(async () => {
    redis = await startRedis();
    t = await startTestPlane({ redisUrl: redis.url });
  });
  afterAll(async () => {
    redis.resume();
    await t?.stop();
    await redis?.stop();
  });

  const timed = async (name: string, input: unknown) => {
    const started = performance.now();
    try {
      const res = await fetch(`${t.url}/api/v2/ops/${name}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${t.adminKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(input),
        signal: AbortSignal.timeout(4_000),
      });
      const body = (await res.json()) as { error?: { code?: string } };
      return { name, ms: performance.now() - started, status: res.status, code: body.error?.code };
    } catch {
      return { name, ms: performance.now() - started, status: 0, code: 'no answer' };
    }
  };

  it('answers each within its timeout with 503 PH_REDIS_UNAVAILABLE while redis-server is stopped (SIGSTOP)', async () => {
    // The instance shift-traffic's input names, so sagas.start gets as far as writing the saga.
    const web = await t.op('services.register', { name: 'web', id: 'web-new', address: '127.0.0.1', port: 9 });
    expect(web.status).toBe(200);
    redis.pause();
    const results = await Promise.all(redisCalls.map(([name, input]) => timed(name, input)));
    for (const r of results) {
      // An answer, in time: a call still waiting when the client gave up (4 s) has none.
      expect(r.code, r.name).not.toBe('no answer');
      expect(r.ms, r.name).toBeLessThan(REDIS_CALL_TIMEOUT_MS + 2_500);
      // The hub answers for its backplane, on the socket and the operation alike.
      const code = r.name === 'realtime.publish' ? 'PH_REALTIME_UNAVAILABLE' : 'PH_REDIS_UNAVAILABLE';
      if (r.status >= 500) expect(r, r.name).toMatchObject({ status: 503, code });
    }
    redis.resume();
    expect((await timed('jobs.stats', {})).status).toBe(200);
  });

  it('answers /healthz and /readyz without waiting on Redis while redis-server is stopped', async () => {
    redis.pause();
    try {
      // Twenty probes in a row: waiting on the limiter's 250 ms Redis deadline each time took 5 s.
      const started = performance.now();
      for (let i = 0; i < 10; i += 1) {
        for (const path of ['/healthz', '/readyz']) {
          const res = await fetch(`${t.url}${path}`);
          expect(res.status, path).toBe(200);
          expect(res.headers.get('ratelimit'), path).not.toBeNull();
        }
      }
      expect(performance.now() - started).toBeLessThan(2_500);
    } finally {
      redis.resume();
    }
  });

  it('answers a publish over the socket with an error frame within the same timeout while redis-server is stopped', async () => {
    const ws = new WebSocket(`${t.url.replace('http', 'ws')}/ws`, { headers: { authorization: `Bearer ${t.adminKey}` } });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const answered = new Promise<{ type: string; error?: { code: string; message: string } }>((resolve) =>
      ws.on('message', (data) => {
        const frame = JSON.parse(String(data)) as { id?: number; type: string };
        if (frame.id === 7) resolve(frame);
      }),
    );
    redis.pause();
    try {
      const started = performance.now();
      ws.send(JSON.stringify({ type: 'publish', room: 'fault', data: { n: 2 }, id: 7 }));
      const frame = await answered;
      expect(performance.now() - started).toBeLessThan(REDIS_CALL_TIMEOUT_MS + 2_500);
      expect(frame).toMatchObject({ type: 'error', error: { code: 'PH_REALTIME_UNAVAILABLE' } });
      expect(frame.error?.message).toContain('may still be delivered');
    } finally {
      redis.resume();
      ws.close();
    }
  });

  it('shows the services on Redis degraded on /readyz while redis-server is stopped, as when it is refused, and running once it answers', async () => {
    const onRedis = ['redis', 'jobs', 'realtime'];
    const states = async (): Promise<Record<string, string>> => {
      const res = await fetch(`${t.url}/readyz`, { headers: { authorization: `Bearer ${t.adminKey}` } });
      expect(res.status).toBe(200);
      const { services } = (await res.json()) as { services: { name: string; state: string }[] };
      return Object.fromEntries(services.filter((s) => onRedis.includes(s.name)).map((s) => [s.name, s.state]));
    };
    const allRunning = async (): Promise<boolean> => Object.values(await states()).every((s) => s === 'running');
    // The earlier tests' pauses are over once Redis answers the probe again.
    await until(allRunning, 5_000, 'redis, jobs and realtime to read running');
    expect(Object.keys(await states()).sort()).toEqual(onRedis.sort());
    redis.pause();
    try {
      await until(
        async () => Object.values(await states()).every((s) => s === 'degraded'),
        REDIS_CALL_TIMEOUT_MS + 2_000,
        'redis, jobs and realtime to read degraded',
      );
    } finally {
      redis.resume();
    }
    await until(allRunning, 5_000, 'them to read running again');
  });

  it('answers each within its timeout while redis-server is down, and serves again once it is back empty', async () => {
    await redis.kill();
    for (const r of await Promise.all(redisCalls.map(([name, input]) => timed(name, input)))) {
      expect(r.ms, r.name).toBeLessThan(REDIS_CALL_TIMEOUT_MS + 2_500);
      if (r.status >= 500) {
        expect(r.status, r.name).toBe(503);
        expect(['PH_REDIS_UNAVAILABLE', 'PH_REALTIME_UNAVAILABLE'], r.name).toContain(r.code);
      }
    }
    await redis.restart();
    await until(async () => (await timed('jobs.stats', {})).status === 200, 15_000, 'jobs.stats to answer after Redis is back');
    expect((await timed('jobs.enqueue', { type: 'cache.warm', payload: {} })).status).toBe(200);
  });
});
