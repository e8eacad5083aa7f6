import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { FleetSeal } from '../../main/fleet';
import { sealHeader } from '../../main/realtime/backplane-seal';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';
import { TEST_FLEET_SECRET, testSeal } from '../helpers/fleet-secret';
import { startRedis, type TestRedis } from '../helpers/redis-server';
import { until } from '../helpers/until';
import { RawClient, knownOn, startNode, type Node } from '../realtime/helpers';

const CHANNEL = 'ph:discovery:changes';
const INSTANCES = 'ph:discovery:instances';

function snapshot(id: string, weight = 1000) {
  const at = Date.now();
  return {
    id,
    name: 'payments',
    address: '127.0.0.1',
    port: 9,
    tags: [],
    meta: {},
    version: null,
    weight,
    defs: [{ kind: 'ttl', ttlMs: 60_000 }],
    maintenance: null,
    registeredAt: at,
    updatedAt: at,
    lastHeartbeatAt: null,
    checks: [{ id: 'ttl', status: 'passing', output: 'ok', checkedAt: at, changedAt: at, criticalSince: null }],
  };
}

/** A node's rejection counter, read from its own /metrics as Prometheus would. */
async function rejected(t: TestPlane, channel: string, reason: string): Promise<number> {
  const res = await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${t.adminKey}` } });
  const text = await res.text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`pilothouse_fleet_messages_rejected_total{channel="${channel}",reason="${reason}"}`));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

describe('messages between nodes are signed with the fleet secret', () => {
  let redis: TestRedis;
  let a: TestPlane;
  let b: TestPlane;
  let intruder: Redis;

  beforeAll(async () => {
    redis = await startRedis();
    a = await startTestPlane({ redisUrl: redis.url });
    b = await startTestPlane({ redisUrl: redis.url });
    intruder = redis.client();
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await redis?.stop();
  });

  async function instances(t: TestPlane): Promise<string[]> {
    const { body } = await t.op('services.list', {});
    return (body.instances as { id: string }[]).map((i) => i.id);
  }

  it('drops an unsigned discovery message anyone can PUBLISH: no instance, no audit row, counted', async () => {
    const auditBefore = (await a.op('audit.list', { limit: 1 })).body.total;
    const before = await rejected(a, 'discovery.change', 'malformed');
    await intruder.publish(CHANNEL, JSON.stringify({ node: 'evil', message: { kind: 'upsert', snapshot: snapshot('stolen-1') } }));
    await until(async () => (await rejected(a, 'discovery.change', 'malformed')) === before + 1, 3_000, 'the rejection counted');
    expect(await instances(a)).not.toContain('stolen-1');
    expect(await instances(b)).not.toContain('stolen-1');
    expect((await a.op('audit.list', { limit: 1 })).body.total).toBe(auditBefore);
  });

  it('drops a message signed with another secret, and one signed right but replayed too late', async () => {
    const wrongKey = new FleetSeal({ secret: 'another-fleet-secret-0123456789abcdef', nodeId: 'evil', clock: { now: () => Date.now() } });
    const signatureBefore = await rejected(a, 'discovery.change', 'signature');
    await intruder.publish(
      CHANNEL,
      wrongKey.seal('discovery.change', CHANNEL, JSON.stringify({ kind: 'upsert', snapshot: snapshot('stolen-2') })),
    );
    await until(async () => (await rejected(a, 'discovery.change', 'signature')) === signatureBefore + 1, 3_000, 'signature rejection');

    const old = new FleetSeal({ secret: TEST_FLEET_SECRET, nodeId: 'node-old', clock: { now: () => Date.now() - 120_000 } });
    const staleBefore = await rejected(a, 'discovery.change', 'stale');
    await intruder.publish(
      CHANNEL,
      old.seal('discovery.change', CHANNEL, JSON.stringify({ kind: 'upsert', snapshot: snapshot('stolen-3') })),
    );
    await until(async () => (await rejected(a, 'discovery.change', 'stale')) === staleBefore + 1, 3_000, 'stale rejection');
    expect(await instances(a)).not.toContain('stolen-2');
    expect(await instances(a)).not.toContain('stolen-3');
  });

  it('drops a signed message whose shape is wrong (weight beyond what the API allows)', async () => {
    const peer = testSeal('node-peer');
    const before = await rejected(a, 'discovery.change', 'schema');
    await intruder.publish(
      CHANNEL,
      peer.seal('discovery.change', CHANNEL, JSON.stringify({ kind: 'upsert', snapshot: snapshot('odd-1', 5000) })),
    );
    await until(async () => (await rejected(a, 'discovery.change', 'schema')) === before + 1, 3_000, 'schema rejection');
    expect(await instances(a)).not.toContain('odd-1');
  });

  it('applies a correctly signed message from a fleet node', async () => {
    const peer = testSeal('node-peer');
    await intruder.publish(
      CHANNEL,
      peer.seal('discovery.change', CHANNEL, JSON.stringify({ kind: 'upsert', snapshot: snapshot('peer-1', 5) })),
    );
    await until(async () => (await instances(a)).includes('peer-1') && (await instances(b)).includes('peer-1'), 3_000, 'instance on both');
  });

  it('ignores a forged instance written straight into the shared hash when a node starts', async () => {
    await a.op('services.register', {
      name: 'orders',
      id: 'real-1',
      address: '127.0.0.1',
      port: 9,
      checks: [{ kind: 'ttl', ttlMs: 60_000 }],
    });
    await until(async () => (await intruder.hexists(INSTANCES, 'real-1')) === 1, 3_000, 'real instance stored');
    await intruder.hset(INSTANCES, 'planted-1', JSON.stringify(snapshot('planted-1')));
    const before = (await rejected(a, 'discovery.instance', 'malformed')) + (await rejected(b, 'discovery.instance', 'malformed'));
    const c = await startTestPlane({ redisUrl: redis.url });
    try {
      expect(await instances(c)).not.toContain('planted-1');
      expect(await instances(c)).toContain('real-1');
      expect(await rejected(c, 'discovery.instance', 'malformed')).toBe(1);
      expect((await rejected(a, 'discovery.instance', 'malformed')) + (await rejected(b, 'discovery.instance', 'malformed'))).toBe(before);
    } finally {
      await c.stop();
    }
  });

  it('ignores a liveness key planted for a node that does not exist, so no check is skipped for it', async () => {
    await intruder.multi().set('ph:discovery:node:node-ghost', '1', 'PX', 60_000).sadd('ph:discovery:members', 'node-ghost').exec();
    const before = await rejected(a, 'discovery.node', 'malformed');
    await until(async () => (await rejected(a, 'discovery.node', 'malformed')) > before, 3_000, 'the planted key rejected');
    expect(a.plane.running.discovery.sync?.liveNodes).not.toContain('node-ghost');
    expect(a.plane.running.discovery.sync?.liveNodes).toHaveLength(2);
  });

  it('serves a cache value only when its seal is right: a value planted in Redis reads as absent', async () => {
    expect((await fetchCache(a, 'PUT', 'shop', 'price', { value: 10 })).status).toBe(204);
    expect((await fetchCache(b, 'GET', 'shop', 'price')).body).toMatchObject({ value: 10 });
    const keys = await intruder.keys('*e:shop:price');
    expect(keys).toHaveLength(1);
    const planted = (await intruder.getBuffer(keys[0]!)) as Buffer;
    planted.writeUInt8(planted.readUInt8(planted.length - 1) ^ 1, planted.length - 1); // one bit of the value flipped, MAC kept
    await intruder.set(keys[0]!, planted);
    const before = await rejected(b, 'cache.entry', 'signature');
    // b's L1 still holds 10 from the read above; a fresh node reads L2.
    const c = await startTestPlane({ redisUrl: redis.url });
    try {
      const res = await fetchCache(c, 'GET', 'shop', 'price');
      expect(res.status).toBe(404);
      expect(await rejected(c, 'cache.entry', 'signature')).toBe(1);
      expect(await rejected(b, 'cache.entry', 'signature')).toBe(before);
    } finally {
      await c.stop();
    }
  });
});

describe('the realtime backplane drops what the fleet did not sign', () => {
  let redis: TestRedis;
  let a: Node;
  let b: Node;

  beforeAll(async () => {
    redis = await startRedis();
    a = await startNode({ config: { redisUrl: redis.url }, realtime: { node: 'rt-a' } });
    b = await startNode({ config: { redisUrl: redis.url }, realtime: { node: 'rt-b' } });
  });
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
    await redis?.stop();
  });

  it('never delivers a room message PUBLISHed straight into Redis, and still delivers the real ones', async () => {
    const viewer = await a.key('viewer', 'watcher');
    const operator = await a.key('operator', 'program');
    await knownOn([b.url], viewer, operator);
    const sub = await RawClient.connect(b.wsUrl, viewer);
    await sub.request({ type: 'subscribe', room: 'forge' });
    const intruder = redis.client();
    const counted = async (): Promise<number> => {
      const text = await b.plane.running.metrics.registry.getSingleMetricAsString('pilothouse_fleet_messages_rejected_total');
      const line = text.split('\n').find((l) => l.includes('channel="realtime.room"'));
      return line === undefined ? 0 : Number(line.split(' ').pop());
    };
    const start = await counted();
    const forged =
      '{"type":"message","mid":"x","room":"forge","lane":"normal","from":"admin","at":1,"epoch":"e","offset":1,"data":"forged"}';
    await intruder.publish('ph:rt:r:forge', `R|1|e|rt-a|${Date.now()}|${'A'.repeat(43)}|0|normal|0|x|\n${forged}`);
    await until(async () => (await counted()) === start + 1, 3_000, 'the forged room message counted');
    const pub = await RawClient.connect(a.wsUrl, operator);
    await pub.request({ type: 'publish', room: 'forge', data: 'real' });
    expect(await sub.next((f) => f.type === 'message')).toMatchObject({ room: 'forge', data: 'real', offset: 1 });
    sub.close();
    pub.close();
  });

  it('never acts on a revocation PUBLISHed straight into Redis: counted, and the key it names keeps its socket', async () => {
    const operator = await a.key('operator', 'steady');
    const keyId = operator.split('_')[1] as string;
    await knownOn([b.url], operator);
    const socket = await RawClient.connect(b.wsUrl, operator);
    const counted = async (): Promise<number> => {
      const text = await b.plane.running.metrics.registry.getSingleMetricAsString('pilothouse_fleet_messages_rejected_total');
      const line = text.split('\n').find((l) => l.includes('channel="realtime.event"'));
      return line === undefined ? 0 : Number(line.split(' ').pop());
    };
    const start = await counted();
    const payload = { keyId, sessionId: null, allSessions: false, reason: 'key-revoked' };
    const frame = JSON.stringify({ type: 'event', event: 'auth.revoked', payload });
    const intruder = redis.client();
    await intruder.publish('ph:rt:events', `E|rt-a|${Date.now()}|${'A'.repeat(43)}|auth.revoked|normal|\n${frame}`);
    await until(async () => (await counted()) === start + 1, 3_000, 'the forged revocation counted');
    expect(await socket.request({ type: 'ping' })).toMatchObject({ type: 'pong' });
    expect((await b.op('realtime.stats', {}, operator)).status).toBe(200);
    // The same frame sealed with the fleet secret is acted on: the seal was what stopped the forgery.
    const header = sealHeader(testSeal('rt-peer'), 'realtime.event', 'ph:rt:events', ['auth.revoked', 'normal', ''], frame);
    await intruder.publish('ph:rt:events', `E|${header}\n${frame}`);
    expect((await socket.closed).code).toBe(1008);
  });

  it('lists only presence members a fleet node vouched for: one planted in the presence hash is not shown, nor a meta changed there', async () => {
    const viewer = await a.key('viewer', 'guest');
    const ann = await RawClient.connect(a.wsUrl, viewer);
    await ann.request({ type: 'subscribe', room: 'guests', presence: { name: 'Ann' } });
    const hash = 'ph:rt:{guests}:p';
    const intruder = redis.client();
    const [annUser] = await intruder.hkeys(hash);
    // A member no node vouched for, alive on node a as far as Redis can say, and Ann's shown name changed in place.
    const node = 'rt-a';
    await intruder.hset(
      hash,
      'key:mallory',
      JSON.stringify({ n: { [node]: Date.now() + 60_000 }, m: '{"name":"Mallory"}', s: { [node]: 'ph1|x' } }),
    );
    const entry = JSON.parse((await intruder.hget(hash, annUser!))!);
    await intruder.hset(hash, annUser!, JSON.stringify({ ...entry, m: '{"name":"Eve"}' }));
    await knownOn([b.url], viewer);
    const reader = await RawClient.connect(b.wsUrl, viewer);
    const listed = await reader.request({ type: 'presence', room: 'guests' });
    expect(listed.result.members).toEqual([{ user: annUser, meta: { name: 'Ann' } }]);
    // The claim itself changed (another name under Ann's seal): Ann is no longer vouched for.
    const forgedClaim = (entry.s[node] as string).replace('Ann', 'Eve');
    await intruder.hset(hash, annUser!, JSON.stringify({ ...entry, s: { [node]: forgedClaim } }));
    expect((await reader.request({ type: 'presence', room: 'guests' })).result.members).toEqual([]);
    ann.close();
    reader.close();
  });

  // What anyone who can write Redis may put in a presence hash: not JSON, not an object, or an
  // object whose fields (or the values inside them) have another type than a node writes.
  const planted = [
    '{"n":"planted"}',
    'xx',
    '{}',
    '[]',
    '5',
    '{"__proto__":{"n":{"rt-a":1}}}',
    '{"n":{"rt-a":"later"}}',
    '{"n":{"rt-a":9e15},"s":{"rt-a":{}}}',
    '{"n":{"rt-a":9e15,"rt-b":9e15},"s":{"rt-a":"x","rt-b":"y"},"j":{"rt-a":"first","rt-b":2}}',
  ];
  it.each(planted)('keeps a room working with %s planted in its presence hash, and does not list it', async (value) => {
    const room = `planted-${planted.indexOf(value)}`;
    const viewer = await a.key('viewer', `guest-${room}`);
    const other = await a.key('viewer', `other-${room}`);
    const operator = await a.key('operator', `writer-${room}`);
    await knownOn([b.url], viewer, other, operator);
    const ann = await RawClient.connect(a.wsUrl, viewer);
    await ann.request({ type: 'subscribe', room, presence: { name: 'Ann' } });
    const intruder = redis.client();
    const [annUser] = await intruder.hkeys(`ph:rt:{${room}}:p`);
    await intruder.hset(`ph:rt:{${room}}:p`, 'key:deadbeef', value);
    const bob = await RawClient.connect(b.wsUrl, other);
    expect(await bob.request({ type: 'subscribe', room, presence: { name: 'Bob' } })).toMatchObject({ type: 'reply' });
    const names = (members: { user: string; meta: { name: string } }[]) => members.map((m) => m.meta.name).sort();
    const listed = (await bob.request({ type: 'presence', room })).result.members;
    expect(names(listed)).toEqual(['Ann', 'Bob']);
    expect(listed).toContainEqual({ user: annUser, meta: { name: 'Ann' } });
    const rest = await a.op('realtime.presence', { room }, viewer);
    expect(rest.status).toBe(200);
    expect(names(rest.body.members)).toEqual(['Ann', 'Bob']);
    const pub = await RawClient.connect(a.wsUrl, operator);
    expect(await pub.request({ type: 'publish', room, data: 'through' })).toMatchObject({ type: 'reply' });
    expect(await bob.next((f) => f.type === 'message')).toMatchObject({ room, data: 'through' });
    expect(await ann.request({ type: 'unsubscribe', room })).toMatchObject({ type: 'reply' });
    expect(names((await bob.request({ type: 'presence', room })).result.members)).toEqual(['Bob']);
    for (const c of [ann, bob, pub]) c.close();
  });
});

async function fetchCache(
  t: TestPlane,
  method: 'GET' | 'PUT',
  ns: string,
  key: string,
  body?: unknown,
): Promise<{ status: number; body: any }> {
  const res = await fetch(`${t.url}/api/v2/cache/${ns}/${key}`, {
    method,
    headers: { authorization: `Bearer ${t.adminKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? null : JSON.parse(text) };
}
