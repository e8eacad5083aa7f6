import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient, startNode, type Node } from '../realtime/helpers';
import { until } from '../helpers/until';
import { HostileWs } from './hostile-ws';

async function session(node: Node, key: string): Promise<string> {
  const res = await fetch(`${node.url}/api/v2/session`, { method: 'POST', headers: { authorization: `Bearer ${key}` } });
  return ((await res.json()) as { token: string }).token;
}

async function keyWithId(node: Node, role: 'viewer' | 'operator'): Promise<{ id: string; secret: string }> {
  const { body } = await node.op('keys.create', { name: `${role}-${Math.random()}`, role });
  return { id: body.key.id as string, secret: body.secret as string };
}

/** Still served: a ping on it is answered. */
async function stillOpen(client: RawClient): Promise<void> {
  expect(await client.request({ type: 'ping' })).toMatchObject({ type: 'pong' });
}

describe('revocation reaches open sockets', () => {
  let node: Node;
  beforeAll(async () => {
    node = await startNode();
  });
  afterAll(async () => {
    await node?.stop();
  });

  it('closes every socket of a revoked key, by key or by its session token, with 1008 within a second', async () => {
    const revoked = await keyWithId(node, 'operator');
    const bystander = await keyWithId(node, 'operator');
    const byKey = await RawClient.connect(node.wsUrl, revoked.secret);
    const bySession = await RawClient.connect(node.wsUrl, await session(node, revoked.secret));
    const other = await RawClient.connect(node.wsUrl, bystander.secret);

    const started = performance.now();
    expect((await node.op('keys.revoke', { id: revoked.id })).status).toBe(200);
    const [a, b] = await Promise.all([byKey.closed, bySession.closed]);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(a.code).toBe(1008);
    expect(b.code).toBe(1008);
    expect(await byKey.next((f) => f.type === 'error')).toMatchObject({ error: { code: 'PH_UNAUTHENTICATED' } });
    await stillOpen(other);
    other.close();
  });

  it('refuses the frames a client that ignores the close keeps sending after its key was revoked', async () => {
    const revoked = await keyWithId(node, 'operator');
    const hostile = await HostileWs.open(node.url, revoked.secret);
    expect((await node.op('keys.revoke', { id: revoked.id })).status).toBe(200);
    await until(() => hostile.closeCode() !== null, 1000, 'the close frame');
    expect(hostile.closeCode()).toBe(1008);

    hostile.sendText({ type: 'publish', id: 1, room: 'after-revoke', data: 'should not land' });
    hostile.sendClose();
    // The server reads frames in order: once it has dropped the connection, it has seen the publish.
    await hostile.ended;
    expect(hostile.text()).not.toContain('"type":"reply"');
    const history = await node.op('realtime.history', { room: 'after-revoke' });
    expect(history).toMatchObject({ status: 200, body: { messages: [] } });
  });

  it('closes the socket of a session that signs out and leaves the same key’s other session open', async () => {
    const viewer = await keyWithId(node, 'viewer');
    const leaving = await session(node, viewer.secret);
    const staying = await RawClient.connect(node.wsUrl, await session(node, viewer.secret));
    const leavingSocket = await RawClient.connect(node.wsUrl, leaving);

    expect(await node.op('sessions.logout', {}, leaving)).toMatchObject({ status: 200, body: { ended: true } });
    expect((await leavingSocket.closed).code).toBe(1008);
    await stillOpen(staying);
    // The token itself is refused from now on, on the socket as on HTTP.
    const again = new RawClient(node.wsUrl, { token: leaving });
    expect((await again.closed).code).toBe(1008);
    staying.close();
  });

  it('closes every session socket when an admin rotates the signing secret, and leaves API-key sockets open', async () => {
    const viewer = await keyWithId(node, 'viewer');
    const sessions = await Promise.all([1, 2].map(async () => RawClient.connect(node.wsUrl, await session(node, viewer.secret))));
    const byKey = await RawClient.connect(node.wsUrl, viewer.secret);

    expect((await node.op('sessions.rotate', {})).status).toBe(200);
    for (const closed of await Promise.all(sessions.map((s) => s.closed))) expect(closed.code).toBe(1008);
    await stillOpen(byKey);
    byKey.close();
  });
});
