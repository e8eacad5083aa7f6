import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient, startNode, type Node } from './helpers';

describe('the size of presence', () => {
  let node: Node;
  let viewer: string;
  beforeAll(async () => {
    node = await startNode({ realtime: { maxPresenceListed: 3 } });
    viewer = await node.key('viewer', 'watcher');
  });
  afterAll(async () => {
    await node.stop();
  });

  it('refuses presence metadata over 1 KiB as JSON with PH_INVALID_INPUT on field presence, and the connection stays out of the room', async () => {
    const big = await RawClient.connect(node.wsUrl, await node.key('viewer', 'big-meta'));
    const refused = await big.request({ type: 'subscribe', room: 'meta-cap', presence: { note: 'm'.repeat(1100) } });
    expect(refused).toMatchObject({ type: 'error', error: { code: 'PH_INVALID_INPUT', field: 'presence' } });
    expect(refused.error.message).toContain('1024 bytes');
    const watcher = await RawClient.connect(node.wsUrl, viewer);
    expect((await watcher.request({ type: 'subscribe', room: 'meta-cap' })).result.members).toEqual([
      { user: expect.any(String), meta: {} },
    ]);
    // Just under the cap is taken, and reaches the room's other members.
    const fits = await big.request({ type: 'subscribe', room: 'meta-cap', presence: { note: 'm'.repeat(1000) } });
    expect(fits.type).toBe('reply');
    expect((await watcher.next((f) => f.type === 'presence' && f.action === 'join' && f.meta?.note !== undefined)).meta.note).toHaveLength(
      1000,
    );
    big.close();
    watcher.close();
  });

  it('lists at most maxPresenceListed members in a subscribe or presence reply, and counts them all in membersTotal', async () => {
    const members: RawClient[] = [];
    for (let i = 0; i < 4; i += 1) {
      const member = await RawClient.connect(node.wsUrl, await node.key('viewer', `member-${i}`));
      await member.request({ type: 'subscribe', room: 'crowd', presence: { i } });
      members.push(member);
    }
    const watcher = await RawClient.connect(node.wsUrl, viewer);
    const subscribed = await watcher.request({ type: 'subscribe', room: 'crowd' });
    expect(subscribed.result.members).toHaveLength(3);
    expect(subscribed.result.membersTotal).toBe(5);
    const listed = await watcher.request({ type: 'presence', room: 'crowd' });
    expect(listed.result).toMatchObject({ room: 'crowd', membersTotal: 5 });
    expect(listed.result.members).toHaveLength(3);
    for (const member of [...members, watcher]) member.close();
  });
});
