import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../helpers/until';
import { RawClient } from '../realtime/helpers';
import { startFleet, type Fleet, type FleetNode } from './helpers';

/** Connects a WebSocket client to `node` and subscribes it to `room`. */
async function subscriber(node: FleetNode, room: string): Promise<RawClient> {
  const client = await RawClient.connect(node.wsUrl, node.adminKey);
  await client.request({ type: 'subscribe', room });
  return client;
}

describe('three node processes on one Redis', () => {
  let fleet: Fleet;
  let n1: FleetNode;
  let n2: FleetNode;
  let n3: FleetNode;

  beforeAll(async () => {
    fleet = await startFleet(3);
    [n1, n2, n3] = fleet.nodes as [FleetNode, FleetNode, FleetNode];
  }, 180_000);
  afterAll(async () => {
    await fleet?.stop();
  });

  it('delivers a message published on node 1 to WebSocket clients on nodes 2 and 3', async () => {
    const on2 = await subscriber(n2, 'fleet-room');
    const on3 = await subscriber(n3, 'fleet-room');
    const pub = await RawClient.connect(n1.wsUrl, n1.adminKey);
    const reply = await pub.request({ type: 'publish', room: 'fleet-room', data: { hello: 'fleet' } });
    expect(reply.type).toBe('reply');
    for (const client of [on2, on3]) {
      expect(await client.next((f) => f.type === 'message')).toMatchObject({ room: 'fleet-room', data: { hello: 'fleet' }, offset: 1 });
    }
    for (const c of [on2, on3, pub]) c.close();
  });

  it('serves the last of 20 overwrites made on node 3 on nodes 1 and 2 within 1 s, while readers hammer them', async () => {
    const path = '/api/v2/cache/fleet/hot';
    let writing = true;
    const seen = new Map<FleetNode, { value: number; at: number }[]>([
      [n1, []],
      [n2, []],
    ]);
    const readers = [n1, n2].map(async (node) => {
      const reads = seen.get(node)!;
      while (writing || reads.length === 0 || reads[reads.length - 1]!.value !== 19) {
        const res = await node.request('GET', path);
        reads.push({ value: res.status === 200 ? (res.body.value as number) : -1, at: Date.now() });
        if (reads.length > 20_000) break;
      }
      // Once the last value is served it stays: a few more reads must all return it.
      for (let i = 0; i < 20; i += 1) {
        const res = await node.request('GET', path);
        reads.push({ value: res.status === 200 ? (res.body.value as number) : -1, at: Date.now() });
      }
    });
    let lastWriteAt = 0;
    for (let i = 0; i < 20; i += 1) {
      // A write Redis cannot take at that moment is refused (503), not acknowledged: send it again.
      let status = 0;
      for (let attempt = 0; status !== 204 && attempt < 50; attempt += 1) {
        status = (await n3.request('PUT', path, { value: i, ttl: 600_000 })).status;
        if (status !== 204) expect(status).toBe(503);
      }
      expect(status).toBe(204);
      lastWriteAt = Date.now();
      await new Promise((r) => setTimeout(r, 25));
    }
    writing = false;
    await Promise.all(readers);
    for (const [node, reads] of seen) {
      const first = reads.findIndex((r) => r.value === 19);
      expect(first, `${node.name} never served the last value`).toBeGreaterThanOrEqual(0);
      expect(reads[first]!.at - lastWriteAt, `${node.name} served the last value late`).toBeLessThan(1_000);
      expect(
        reads.slice(first).every((r) => r.value === 19),
        `${node.name} went back to an older value`,
      ).toBe(true);
    }
  });

  it('takes a node killed with -9 back on restart: same node id, and it receives messages again', async () => {
    const before = (await n2.op('system.status')).body;
    await n2.kill();
    await n2.restart();
    const after = (await n2.op('system.status')).body;
    expect(after.startedAt).not.toBe(before.startedAt);
    const nodeIdOf = (status: any): string | undefined =>
      status.services.find((s: any) => s.name === 'realtime')?.detail?.match(/node (\S+)/)?.[1];
    expect(nodeIdOf(after)).toBe(nodeIdOf(before));
    const on2 = await subscriber(n2, 'after-restart');
    const pub = await RawClient.connect(n1.wsUrl, n1.adminKey);
    await pub.request({ type: 'publish', room: 'after-restart', data: 'back' });
    expect(await on2.next((f) => f.type === 'message')).toMatchObject({ data: 'back' });
    on2.close();
    pub.close();
  }, 120_000);

  it('carries messages between nodes again after Redis is killed and restarted empty', async () => {
    await fleet.redis.kill();
    await fleet.redis.restart();
    const on3 = await subscriber(n3, 'after-redis');
    const pub = await RawClient.connect(n1.wsUrl, n1.adminKey);
    // Until every node has reconnected, a publish may be refused (PH_REALTIME_UNAVAILABLE) or pass
    // a subscriber still resubscribing: publish until one crosses.
    await until(
      async () => {
        const reply = await pub.request({ type: 'publish', room: 'after-redis', data: 'again' });
        if (reply.type !== 'reply') return false;
        return (await on3.next((f) => f.type === 'message', 300).catch(() => null)) !== null;
      },
      10_000,
      'a message across nodes after the Redis restart',
    );
    on3.close();
    pub.close();
  });
});
