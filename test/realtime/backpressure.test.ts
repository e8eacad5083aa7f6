import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemCaller } from '../../main/core';
import { LiveProgress } from '../../main/realtime';
import { ChildClient, RawClient, sleep, startNode, until, type Node } from './helpers';

const CAP = 256 * 1024;

// Stalled readers are child processes frozen with SIGSTOP: the kernel buffers fill, then the hub's.
describe('lanes and backpressure', () => {
  let node: Node;
  let viewer: string;
  beforeAll(async () => {
    // Long ping interval: a frozen process cannot answer pings, and these tests are about buffers.
    node = await startNode({ realtime: { pingIntervalMs: 60_000, maxBufferedBytes: CAP, highWaterBytes: 32 * 1024 } });
    viewer = await node.key('viewer', 'viewer');
  });
  afterAll(async () => {
    await node.stop();
  });

  const hub = () => node.plane.running.realtime;

  it('keeps a stalled client under its byte cap, drops its normal frames with a gap frame, and never slows the others', async () => {
    // system: rooms are for operators and admins.
    const operator = await node.key('operator', 'operator');
    const slow = new ChildClient(node.wsUrl, operator);
    await slow.next((f) => f.type === 'welcome');
    slow.send({ type: 'subscribe', room: 'system:flood', id: 1 });
    await slow.next((f) => f.type === 'reply');
    const fast = await RawClient.connect(node.wsUrl, operator);
    await fast.request({ type: 'subscribe', room: 'system:flood' });
    slow.stall();
    const payload = 'y'.repeat(16 * 1024);
    let published = 0;
    let maxHeld = 0;
    for (let batch = 0; batch < 60; batch += 1) {
      for (let i = 0; i < 50; i += 1) {
        await hub().publishAsServer('system:flood', { i: ++published, payload });
        // Let the event loop turn, as it would between real publishes: the fast client keeps reading.
        if (i % 5 === 4) await sleep(1);
      }
      const stats = await hub().stats();
      for (const s of stats.slowClients) maxHeld = Math.max(maxHeld, s.heldBytes);
      if (stats.slowClients.some((s) => s.dropped > 0)) break;
    }
    const stats = await hub().stats();
    expect(stats.slowClients.some((s) => s.dropped > 0)).toBe(true);
    expect(maxHeld).toBeLessThanOrEqual(CAP + 17 * 1024);
    await until(() => fast.frames.filter((f) => f.type === 'message').length === published, 10_000, 'fast client gets every message');
    expect(fast.take((f) => f.type === 'message').map((f) => f.offset)).toEqual(Array.from({ length: published }, (_, i) => i + 1));

    slow.resume();
    const covered = new Set<number>();
    const received: number[] = [];
    await until(
      () => {
        for (const f of slow.take((x) => x.type === 'message' || x.type === 'gap')) {
          if (f.type === 'message') {
            received.push(f.offset);
            covered.add(f.offset);
          } else for (let o = f.from; o <= f.to; o += 1) covered.add(o);
        }
        return covered.size >= published;
      },
      10_000,
      'the slow client to be told about every offset',
    );
    expect(received.length).toBeLessThan(published);
    expect(received).toEqual([...received].sort((a, b) => a - b));
    expect(new Set(received).size).toBe(received.length);
    slow.kill();
    fast.close();
  });

  it('coalesces low-lane progress per key for a stalled client: the latest value arrives, not every step', async () => {
    const slow = new ChildClient(node.wsUrl, viewer);
    await slow.next((f) => f.type === 'welcome');
    slow.send({ type: 'subscribe', room: LiveProgress.room('job.progress'), id: 1 });
    await slow.next((f) => f.type === 'reply');
    slow.stall();
    const progress = node.plane.running.progress;
    const pad = 'z'.repeat(16 * 1024);
    for (let step = 1; step <= 600; step += 1) {
      progress.publish('job.progress', 'job-1', { step, pad });
      if (step % 50 === 0) await sleep(5);
    }
    await sleep(200);
    slow.resume();
    await until(() => slow.frames.some((f) => f.type === 'message' && f.data.step === 600), 10_000, 'the final step');
    const steps = slow.take((f) => f.type === 'message').map((f) => f.data.step as number);
    expect(steps.length).toBeLessThan(600);
    expect(steps).toEqual([...steps].sort((a, b) => a - b));
    expect((await hub().stats()).totals.coalesced).toBeGreaterThan(0);
    slow.kill();
  });

  it('keeps the latest value per key when it sheds the low lane, and tells the reader of the unkeyed messages shed with a dropped gap', async () => {
    const room = 'progress:shed';
    const slow = new ChildClient(node.wsUrl, viewer);
    await slow.next((f) => f.type === 'welcome');
    slow.send({ type: 'subscribe', room, id: 1 });
    await slow.next((f) => f.type === 'reply');
    slow.stall();
    const pad = 'q'.repeat(16 * 1024);
    // Unkeyed filler until the kernel's buffers are full and the hub queues the reader's frames.
    let filler = 0;
    const queuedLow = async () => (await hub().stats()).slowClients.some((c) => c.queued.low > 0);
    while (!(await queuedLow()) && filler < 2000) await hub().publishAsServer(room, { filler: ++filler, pad });
    expect(await queuedLow()).toBe(true);
    const keyed = new Map<string, number>();
    for (const key of ['k0', 'k1', 'k2']) keyed.set(key, (await hub().publishAsServer(room, { key, pad }, key)).position.offset);
    let last = 0;
    for (let i = 0; i < 30; i += 1) last = (await hub().publishAsServer(room, { unkeyed: i, pad })).position.offset;
    expect((await hub().stats()).totals.dropped).toBeGreaterThan(0);
    slow.resume();
    await until(
      () => ['k0', 'k1', 'k2'].every((key) => slow.frames.some((f) => f.type === 'message' && f.key === key)),
      10_000,
      'the latest value of each key',
    );
    await hub().publishAsServer(room, { after: true });
    await until(() => slow.frames.some((f) => f.type === 'message' && f.data.after === true), 10_000, 'the message after');
    // Every offset is either received or in a dropped gap, in order: nothing is lost without a word.
    const frames = slow.take((f) => f.type === 'message' || f.type === 'gap');
    const covered: number[] = [];
    for (const f of frames) {
      if (f.type === 'message') covered.push(f.offset);
      else {
        expect(f.reason).toBe('dropped');
        for (let o = f.from; o <= f.to; o += 1) covered.push(o);
      }
    }
    expect(covered).toEqual(Array.from({ length: last + 1 }, (_, i) => i + 1));
    expect(frames.filter((f) => f.type === 'message' && f.key !== undefined).map((f) => f.offset)).toEqual([...keyed.values()]);
    slow.kill();
  });

  it('tells a reader stalled through many sheddings of a room one dropped gap for the whole run', async () => {
    const room = 'progress:one-run';
    const slow = new ChildClient(node.wsUrl, viewer);
    await slow.next((f) => f.type === 'welcome');
    slow.send({ type: 'subscribe', room, id: 1 });
    await slow.next((f) => f.type === 'reply');
    slow.stall();
    const pad = 'r'.repeat(16 * 1024);
    let filler = 0;
    const queuedLow = async () => (await hub().stats()).slowClients.some((c) => c.queued.low > 0);
    while (!(await queuedLow()) && filler < 2000) await hub().publishAsServer(room, { filler: ++filler, pad });
    // Five caps' worth: the low queue fills and is shed again and again.
    let last = 0;
    for (let i = 0; i < (5 * CAP) / pad.length; i += 1) last = (await hub().publishAsServer(room, { unkeyed: i, pad })).position.offset;
    slow.resume();
    await until(() => slow.frames.some((f) => f.type === 'message' && f.offset === last), 10_000, 'the last message');
    const frames = slow.take((f) => f.type === 'message' || f.type === 'gap');
    const gaps = frames.filter((f) => f.type === 'gap');
    expect(gaps).toHaveLength(1);
    expect(gaps[0]).toMatchObject({ room, reason: 'dropped' });
    // The gap sits where its messages were: every offset is received or in it, in order.
    const covered = frames.flatMap((f) =>
      f.type === 'message' ? [f.offset] : Array.from({ length: f.to - f.from + 1 }, (_, i) => f.from + i),
    );
    expect(covered).toEqual(Array.from({ length: last }, (_, i) => i + 1));
    slow.kill();
  });

  it('lets the latest values per key give way to normal frames, and tells the reader with a dropped gap in their place', async () => {
    const operator = await node.key('operator', 'keyed-gives-way');
    const slow = new ChildClient(node.wsUrl, operator);
    await slow.next((f) => f.type === 'welcome');
    slow.send({ type: 'subscribe', room: 'progress:gives-way', id: 1 });
    slow.send({ type: 'subscribe', room: 'system:busy', id: 2 });
    await slow.next((f) => f.type === 'reply' && f.id === 1);
    await slow.next((f) => f.type === 'reply' && f.id === 2);
    slow.stall();
    const pad = 'w'.repeat(16 * 1024);
    const queuedLow = async () => (await hub().stats()).slowClients.some((c) => c.queued.low > 0);
    let filler = 0;
    while (!(await queuedLow()) && filler < 2000) await hub().publishAsServer('progress:gives-way', { filler: ++filler, pad });
    const keyed: number[] = [];
    for (const key of ['k0', 'k1', 'k2'])
      keyed.push((await hub().publishAsServer('progress:gives-way', { key, pad }, key)).position.offset);
    // Normal frames until the cap is reached: the keyed low values are shed to make room.
    for (let i = 0; i < 40; i += 1) await hub().publishAsServer('system:busy', { i, pad });
    slow.resume();
    await hub().publishAsServer('progress:gives-way', { after: true });
    await until(() => slow.frames.some((f) => f.type === 'message' && f.data?.after === true), 10_000, 'the low message after');
    const low = slow.take((f) => f.room === 'progress:gives-way' && (f.type === 'message' || f.type === 'gap'));
    const covered = new Set<number>();
    for (const f of low) {
      if (f.type === 'message') covered.add(f.offset);
      else for (let o = f.from; o <= f.to; o += 1) covered.add(o);
    }
    // The keyed values gave way (they are not among the messages), and each is in a gap: none is lost without a word.
    const received = new Set(low.filter((f) => f.type === 'message').map((f) => f.offset as number));
    expect(keyed.filter((offset) => received.has(offset))).toEqual([]);
    for (const offset of keyed) expect(covered.has(offset), `offset ${offset}`).toBe(true);
    expect(low.some((f) => f.type === 'gap' && f.reason === 'dropped')).toBe(true);
    slow.kill();
  });

  it('closes a stalled client with 4001 rather than drop a high-lane frame, so it reconnects and resumes', async () => {
    const slow = new ChildClient(node.wsUrl, viewer);
    await slow.next((f) => f.type === 'welcome');
    slow.send({ type: 'subscribe', room: 'alerts:fire', id: 1 });
    await slow.next((f) => f.type === 'reply');
    const before = (await hub().stats()).totals.closedOverflow;
    slow.stall();
    const payload = 'a'.repeat(16 * 1024);
    for (let i = 0; i < 3000 && (await hub().stats()).totals.closedOverflow === before; i += 1) {
      await hub().publish('alerts:fire', { i, payload }, { caller: systemCaller });
    }
    expect((await hub().stats()).totals.closedOverflow).toBe(before + 1);
    slow.resume();
    const { code } = await slow.next((f) => f.type === '_closed', 10_000);
    expect([4001, 1006]).toContain(code);
    slow.kill();
  });
});
