import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultRoomRules } from '../../main/realtime';
import { RawClient, client, startNode, until, type Node } from './helpers';

describe('rooms, presence and history on one node (SQLite history)', () => {
  let node: Node;
  let operator: string;
  let viewer: string;
  beforeAll(async () => {
    node = await startNode({
      realtime: {
        historyMaxCount: 5,
        rooms: [
          ...defaultRoomRules,
          {
            prefix: 'team:',
            subscribeRole: 'viewer',
            subscribeScope: 'realtime:team',
            publishRole: 'operator',
            publishScope: 'realtime:team',
            lane: 'normal',
            history: true,
          },
        ],
      },
    });
    operator = await node.key('operator', 'program-a');
    viewer = await node.key('viewer', 'watcher');
  });
  afterAll(async () => {
    await node.stop();
  });

  it('delivers a room message to subscribers with its room, epoch, offset, sender and data', async () => {
    const sub = await RawClient.connect(node.wsUrl, viewer);
    const pub = await RawClient.connect(node.wsUrl, operator);
    const subscribed = await sub.request({ type: 'subscribe', room: 'orders' });
    // An empty room still has a position: offset 0 of the epoch its first message will have.
    expect(subscribed).toMatchObject({ type: 'reply', result: { room: 'orders', position: { offset: 0 }, replayed: 0 } });
    const published = await pub.request({ type: 'publish', room: 'orders', data: { n: 1 } });
    expect(published.result.position).toEqual({ epoch: subscribed.result.position.epoch, offset: 1 });
    const message = await sub.next((f) => f.type === 'message');
    expect(message).toMatchObject({
      room: 'orders',
      epoch: published.result.position.epoch,
      offset: 1,
      lane: 'normal',
      data: { n: 1 },
      mid: published.result.mid,
    });
    expect(message.from).toMatch(/^key:/);
    sub.close();
    pub.close();
  });

  it("numbers a room's messages 1, 2, 3 … within one epoch, in publish order", async () => {
    const sub = client(node.wsUrl, viewer);
    const got: number[] = [];
    sub.on('message', (m) => got.push(m.offset as number));
    await sub.subscribe('counting');
    const pub = client(node.wsUrl, operator);
    for (let i = 0; i < 20; i += 1) await pub.publish('counting', i);
    await until(() => got.length === 20);
    expect(got).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    sub.close();
    pub.close();
  });

  it('refuses publishing with a viewer key, and into server-only rooms, with coded error frames', async () => {
    const c = await RawClient.connect(node.wsUrl, viewer);
    expect(await c.request({ type: 'publish', room: 'orders', data: 1 })).toMatchObject({
      type: 'error',
      error: { code: 'PH_REALTIME_FORBIDDEN' },
    });
    const admin = await RawClient.connect(node.wsUrl, node.adminKey);
    expect(await admin.request({ type: 'publish', room: 'system:events', data: 1 })).toMatchObject({
      error: { code: 'PH_REALTIME_FORBIDDEN' },
    });
    expect(await admin.request({ type: 'subscribe', room: 'bad room!' })).toMatchObject({
      error: { code: 'PH_INVALID_INPUT', field: 'room' },
    });
    expect(await admin.request({ type: 'publish', data: 1 })).toMatchObject({ error: { code: 'PH_INVALID_INPUT' } });
    c.close();
    admin.close();
  });

  it("lets only keys holding a room's scope subscribe or publish there", async () => {
    const without = await RawClient.connect(node.wsUrl, operator);
    expect(await without.request({ type: 'subscribe', room: 'team:ops' })).toMatchObject({ error: { code: 'PH_REALTIME_FORBIDDEN' } });
    const scoped = await RawClient.connect(node.wsUrl, await node.key('operator', 'team-member', ['realtime:team']));
    expect(await scoped.request({ type: 'subscribe', room: 'team:ops' })).toMatchObject({ type: 'reply' });
    expect(await scoped.request({ type: 'publish', room: 'team:ops', data: 'hi' })).toMatchObject({ type: 'reply' });
    without.close();
    scoped.close();
  });

  it('sends a message to one user on all their connections, and to everyone only for admins', async () => {
    const target = await node.key('viewer', 'target-user');
    const a = await RawClient.connect(node.wsUrl, target);
    const b = await RawClient.connect(node.wsUrl, target);
    const bystander = await RawClient.connect(node.wsUrl, viewer);
    const welcome =
      (await a.request({ type: 'ping' }),
      await (async () => {
        const c = new RawClient(node.wsUrl, { token: target });
        const w = await c.next((f) => f.type === 'welcome');
        c.close();
        return w;
      })());
    const pub = await RawClient.connect(node.wsUrl, operator);
    expect(await pub.request({ type: 'publish', user: welcome.user, data: 'for you', lane: 'high' })).toMatchObject({ type: 'reply' });
    expect(await a.next((f) => f.type === 'message')).toMatchObject({ data: 'for you', lane: 'high' });
    expect(await b.next((f) => f.type === 'message')).toMatchObject({ data: 'for you' });
    expect(await pub.request({ type: 'publish', all: true, data: 'everyone' })).toMatchObject({ error: { code: 'PH_REALTIME_FORBIDDEN' } });
    const admin = await RawClient.connect(node.wsUrl, node.adminKey);
    await admin.request({ type: 'publish', all: true, data: 'everyone' });
    expect(await bystander.next((f) => f.type === 'message')).toMatchObject({ data: 'everyone' });
    expect(bystander.frames.some((f) => f.data === 'for you')).toBe(false);
    for (const c of [a, b, bystander, pub, admin]) c.close();
  });

  it("announces presence per user: one join for a user's first connection, one leave after their last", async () => {
    const watcher = await RawClient.connect(node.wsUrl, viewer);
    await watcher.request({ type: 'subscribe', room: 'lobby' });
    const alice = await node.key('viewer', 'alice');
    const tab1 = await RawClient.connect(node.wsUrl, alice);
    const tab2 = await RawClient.connect(node.wsUrl, alice);
    await tab1.request({ type: 'subscribe', room: 'lobby', presence: { name: 'Alice', status: 'busy' } });
    const second = await tab2.request({ type: 'subscribe', room: 'lobby' });
    const join = await watcher.next(
      (f) => f.type === 'presence' && f.action === 'join' && f.user !== second.result.members[0]?.user && f.meta?.name === 'Alice',
    );
    expect(second.result.members).toEqual(expect.arrayContaining([{ user: join.user, meta: { name: 'Alice', status: 'busy' } }]));
    const list = await watcher.request({ type: 'presence', room: 'lobby' });
    expect(list.result.members.filter((m: any) => m.user === join.user)).toHaveLength(1);
    tab1.close();
    await tab1.closed;
    // Once the hub has let tab1 go, a later join by someone else marks the point by which a leave for
    // Alice would have reached the watcher (one hub, one socket, in order).
    const hub = node.plane.running.realtime;
    await until(async () => (await hub.stats()).byUser.find((u) => u.user === join.user)?.connections === 1, 5000, 'tab1 to go');
    const carol = await RawClient.connect(node.wsUrl, await node.key('viewer', 'carol'));
    await carol.request({ type: 'subscribe', room: 'lobby', presence: { name: 'Carol' } });
    await watcher.next((f) => f.type === 'presence' && f.action === 'join' && f.meta?.name === 'Carol');
    expect(watcher.frames.filter((f) => f.type === 'presence' && f.user === join.user)).toHaveLength(0);
    carol.close();
    tab2.close();
    expect(await watcher.next((f) => f.type === 'presence' && f.action === 'leave' && f.user === join.user)).toMatchObject({
      room: 'lobby',
    });
    expect(watcher.frames.filter((f) => f.type === 'presence' && f.action === 'join' && f.user === join.user)).toHaveLength(0);
    watcher.close();
  });

  it('replays exactly the messages a client missed, in order, when it resubscribes with its (epoch, offset)', async () => {
    const sub = client(node.wsUrl, viewer);
    const seen: number[] = [];
    sub.on('message', (m) => seen.push(m.data as number));
    await sub.subscribe('resume');
    const pub = client(node.wsUrl, operator);
    await pub.publish('resume', 1);
    await pub.publish('resume', 2);
    await until(() => seen.length === 2);
    const position = sub.position('resume');
    sub.close();
    await pub.publish('resume', 3);
    await pub.publish('resume', 4);
    const again = client(node.wsUrl, viewer);
    const replayed: number[] = [];
    again.on('message', (m) => replayed.push(m.data as number));
    const result = await again.subscribe('resume', { since: position ?? undefined });
    expect(result.replayed).toBe(2);
    await pub.publish('resume', 5);
    await until(() => replayed.length === 3);
    expect(replayed).toEqual([3, 4, 5]);
    again.close();
    pub.close();
  });

  it('sends a gap frame for messages trimmed out of the bounded history, then the rest', async () => {
    const pub = client(node.wsUrl, operator);
    let epoch = '';
    for (let i = 1; i <= 10; i += 1) epoch = (await pub.publish('trimmed', i)).position.epoch;
    const c = await RawClient.connect(node.wsUrl, viewer);
    const reply = await c.request({ type: 'subscribe', room: 'trimmed', since: { epoch, offset: 1 } });
    expect(reply.result.replayed).toBe(5);
    const gap = c.take((f) => f.type === 'gap');
    expect(gap).toEqual([
      { type: 'gap', room: 'trimmed', epoch, from: 2, to: 5, reason: 'history-trimmed', position: { epoch, offset: 5 } },
    ]);
    expect(c.take((f) => f.type === 'message').map((m) => m.offset)).toEqual([6, 7, 8, 9, 10]);
    c.close();
    pub.close();
  });

  it("says so with an epoch-changed gap when the client's epoch is gone, then replays the current epoch", async () => {
    const pub = client(node.wsUrl, operator);
    const { position } = await pub.publish('epochs', 'only');
    const c = await RawClient.connect(node.wsUrl, viewer);
    await c.request({ type: 'subscribe', room: 'epochs', since: { epoch: 'lost-epoch', offset: 7 } });
    expect(c.take((f) => f.type === 'gap')).toEqual([
      {
        type: 'gap',
        room: 'epochs',
        epoch: 'lost-epoch',
        from: 8,
        to: null,
        reason: 'epoch-changed',
        position: { epoch: position.epoch, offset: 0 },
      },
    ]);
    expect(c.take((f) => f.type === 'message').map((m) => m.data)).toEqual(['only']);
    c.close();
    pub.close();
  });

  it('returns the latest messages of a room on a history request', async () => {
    const pub = client(node.wsUrl, operator);
    for (let i = 1; i <= 4; i += 1) await pub.publish('tail', i);
    const c = await RawClient.connect(node.wsUrl, viewer);
    const reply = await c.request({ type: 'history', room: 'tail', limit: 2 });
    expect(reply.result.messages.map((m: any) => m.data)).toEqual([3, 4]);
    const viaOp = await node.op('realtime.history', { room: 'tail', limit: 3 }, viewer);
    expect(viaOp.body.messages.map((m: any) => m.data)).toEqual([2, 3, 4]);
    c.close();
    pub.close();
  });

  it('keeps history and epoch across a node restart (SQLite), so a client resumes after it', async () => {
    const dataNode = await startNode();
    const pub = client(dataNode.wsUrl, dataNode.adminKey);
    const { position } = await pub.publish('durable', 'before');
    pub.close();
    const dataDir = dataNode.dataDir;
    await dataNode.plane.stop();
    const again = await startNode({ config: { dataDir } });
    const pub2 = client(again.wsUrl, again.adminKey);
    await pub2.publish('durable', 'after');
    const c = await RawClient.connect(again.wsUrl, again.adminKey);
    await c.request({ type: 'subscribe', room: 'durable', since: { epoch: position.epoch, offset: 0 } });
    expect(c.take((f) => f.type === 'message').map((m) => [m.epoch, m.offset, m.data])).toEqual([
      [position.epoch, 1, 'before'],
      [position.epoch, 2, 'after'],
    ]);
    c.close();
    pub2.close();
    await again.stop();
    await dataNode.stop().catch(() => undefined);
  });

  it('reports connections, rooms, members and presence through realtime.stats', async () => {
    const c = await RawClient.connect(node.wsUrl, viewer);
    await c.request({ type: 'subscribe', room: 'stats-room' });
    const stats = await node.op('realtime.stats', {}, viewer);
    expect(stats.status).toBe(200);
    expect(stats.body.backplane).toBe('local');
    expect(stats.body.connections).toBeGreaterThanOrEqual(1);
    expect(stats.body.rooms).toEqual(expect.arrayContaining([{ room: 'stats-room', members: 1, users: 1, messagesPerSecond: 0 }]));
    expect(stats.body.byNode).toHaveLength(1);
    c.close();
  });
});
