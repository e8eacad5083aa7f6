import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../helpers/until';
import { RawClient } from '../realtime/helpers';
import { startFleet, type Fleet, type FleetNode } from './helpers';

/** Identity reaches every node within this (the bound); polled, never slept. */
const FLEET_MS = 1_000;

async function call(node: FleetNode, key: string, name: string, input: unknown = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(`${node.url}/api/v2/ops/${name}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(input),
  });
  return { status: res.status, body: await res.json() };
}

/** Resolves with the ms it took until `check` held, or throws after `FLEET_MS`. */
async function within(check: () => Promise<boolean>, what: string): Promise<number> {
  const started = Date.now();
  await until(check, FLEET_MS, what);
  return Date.now() - started;
}

describe('one identity across three node processes on one Redis', () => {
  let fleet: Fleet;
  let n1: FleetNode;
  let n2: FleetNode;
  let n3: FleetNode;

  beforeAll(async () => {
    fleet = await startFleet(3);
    [n1, n2, n3] = fleet.nodes as [FleetNode, FleetNode, FleetNode];
  }, 200_000);
  afterAll(async () => {
    await fleet?.stop();
  });

  it('makes one bootstrap admin key for the whole fleet, accepted by every node', async () => {
    const lists = await Promise.all([n1, n2, n3].map((n) => n.op('keys.list')));
    for (const list of lists) {
      expect(list.status).toBe(200);
      expect(list.body.keys.filter((k: { name: string }) => k.name === 'bootstrap admin')).toHaveLength(1);
    }
  });

  it('accepts a key made on node 1 on nodes 2 and 3 within 1 s, and refuses it on 1 and 3 within 1 s of its revocation on node 2, closing its socket on node 3 with 1008', async () => {
    const made = await n1.op('keys.create', { name: 'roaming', role: 'operator' });
    expect(made.status).toBe(200);
    const secret = made.body.secret as string;
    for (const node of [n2, n3])
      await within(async () => (await call(node, secret, 'realtime.stats')).status === 200, `key on ${node.name}`);

    const socket = await RawClient.connect(n3.wsUrl, secret);
    await socket.request({ type: 'subscribe', room: 'roaming-room' });
    expect((await n2.op('keys.revoke', { id: made.body.key.id })).status).toBe(200);
    for (const node of [n1, n3])
      await within(async () => (await call(node, secret, 'realtime.stats')).status === 401, `revocation on ${node.name}`);
    const closed = await Promise.race([socket.closed, new Promise<null>((r) => setTimeout(() => r(null), FLEET_MS))]);
    expect(closed?.code).toBe(1008);
  });

  it('verifies a session token minted on node 1 on node 2, and ends it everywhere when it signs out on node 3', async () => {
    const minted = await n1.request('POST', '/api/v2/session');
    expect(minted.status).toBe(200);
    const token = minted.body.token as string;
    expect((await call(n2, token, 'realtime.stats')).status).toBe(200);
    const socket = await RawClient.connect(n2.wsUrl, token);
    await socket.request({ type: 'subscribe', room: 'session-room' });

    expect(await call(n3, token, 'sessions.logout')).toMatchObject({ status: 200, body: { ended: true } });
    for (const node of [n1, n2])
      await within(async () => (await call(node, token, 'realtime.stats')).status === 401, `sign-out on ${node.name}`);
    const closed = await Promise.race([socket.closed, new Promise<null>((r) => setTimeout(() => r(null), FLEET_MS))]);
    expect(closed?.code).toBe(1008);
  });

  it('ends every session on every node when the signing secret is rotated on one', async () => {
    const token = (await n2.request('POST', '/api/v2/session')).body.token as string;
    expect((await call(n3, token, 'realtime.stats')).status).toBe(200);
    expect((await n1.op('sessions.rotate')).status).toBe(200);
    for (const node of [n1, n2, n3])
      await within(async () => (await call(node, token, 'realtime.stats')).status === 401, `rotation on ${node.name}`);
    const fresh = (await n3.request('POST', '/api/v2/session')).body.token as string;
    await within(async () => (await call(n1, fresh, 'realtime.stats')).status === 200, 'a token of the new generation on node 1');
  });

  it('lists an audit row written on node 1 on node 2 within 1 s, and node 3 verifies every chain', async () => {
    expect((await n1.op('keys.create', { name: 'audited-on-node-1', role: 'viewer' })).status).toBe(200);
    const findOn2 = async () =>
      (await n2.op('audit.list', { fleet: true, limit: 100 })).body.entries.find(
        (e: { action: string; target: string }) => e.action === 'keys.create' && e.target === 'audited-on-node-1',
      );
    await within(async () => (await findOn2()) !== undefined, 'the row on node 2');
    const n1Id = (await n1.op('system.status')).body.services.find((s: { name: string }) => s.name === 'realtime').detail.split('node ')[1];
    expect((await findOn2()).node).toBe(n1Id);

    await within(async () => {
      const verified = (await n3.op('audit.verify')).body;
      return (
        verified.intact === true &&
        verified.chains.length === 2 &&
        verified.chains.some((c: { node: string; rows: number }) => c.node === n1Id && c.rows > 0)
      );
    }, 'node 3 to verify node 1 chain');
  });

  it('counts one key connected to two nodes once in a room’s presence', async () => {
    const on1 = await RawClient.connect(n1.wsUrl, n1.adminKey);
    const on2 = await RawClient.connect(n2.wsUrl, n2.adminKey);
    await on1.request({ type: 'subscribe', room: 'presence-room', presence: { where: 1 } });
    await on2.request({ type: 'subscribe', room: 'presence-room', presence: { where: 2 } });
    const members = (await n3.op('realtime.presence', { room: 'presence-room' })).body.members as { user: string }[];
    expect(members).toHaveLength(1);
    expect(members[0]!.user).toMatch(/^key:[0-9a-f]{16}$/);
    on1.close();
    on2.close();
  });

  it('keeps every key working on every node when Redis restarts empty, and puts the keys back into Redis', async () => {
    const made = await n3.op('keys.create', { name: 'survives-redis', role: 'viewer' });
    const secret = made.body.secret as string;
    for (const node of [n1, n2])
      await within(async () => (await call(node, secret, 'realtime.stats')).status === 200, `key on ${node.name}`);

    await fleet.redis.kill();
    await fleet.redis.restart();
    for (const node of [n1, n2, n3]) expect((await call(node, secret, 'realtime.stats')).status).toBe(200);
    const redis = fleet.redis.client();
    await until(async () => (await redis.hexists('ph:fleet:api-keys:records', made.body.key.id)) === 1, 15_000, 'the key back in Redis');
    await until(async () => (await redis.hlen('ph:fleet:audit:records')) > 0, 15_000, 'the audit rows back in Redis');
  }, 30_000);
});
