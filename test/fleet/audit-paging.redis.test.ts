import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../main/clock';
import { startRedis, type TestRedis } from '../helpers/redis-server';
import { until } from '../helpers/until';
import { startNode, type JobsNode } from './jobs-nodes';

interface Row {
  node: string;
  seq: number;
  at: string;
  action: string;
}

/** The system clock, unless pinned: a burst of appends made while pinned shares one millisecond. */
class PinnableClock implements Clock {
  pinned: number | null = null;
  now(): number {
    return this.pinned ?? Date.now();
  }
}

const BURST = 20;
const idOf = (row: Row): string => `${row.node}:${row.seq}`;
/** The fleet list's order, newest first: time, then node, then seq. */
const newerFirst = (a: Row, b: Row): number =>
  a.at !== b.at ? (a.at < b.at ? 1 : -1) : a.node !== b.node ? (a.node < b.node ? 1 : -1) : b.seq - a.seq;

describe('fleet audit list: a cursor that pages rows sharing a millisecond (three nodes on one Redis)', () => {
  let redis: TestRedis;
  const nodes: JobsNode[] = [];
  const clocks: PinnableClock[] = [];
  let burstAt = '';

  beforeAll(async () => {
    redis = await startRedis();
    for (let i = 0; i < 3; i += 1) {
      const clock = new PinnableClock();
      clocks.push(clock);
      nodes.push(await startNode(redis.url, { clock }));
    }
    // Every node writes its burst at one and the same millisecond: 60 rows with one `at`.
    const instant = Date.now();
    burstAt = new Date(instant).toISOString();
    nodes.forEach((node, n) => {
      const clock = clocks[n] as PinnableClock;
      clock.pinned = instant;
      for (let i = 0; i < BURST; i += 1)
        node.plane.running.audit.append({ actor: 'system', action: 'paging.burst', target: `n${n}-${i}`, outcome: 'ok' });
      clock.pinned = null;
    });
    const first = nodes[0] as JobsNode;
    await until(
      async () =>
        ((await first.op('audit.list', { fleet: true, limit: 500 })).body.entries as Row[]).filter((e) => e.action === 'paging.burst')
          .length ===
        3 * BURST,
      10_000,
      "every node's burst on node 1",
    );
  }, 120_000);
  afterAll(async () => {
    for (const node of nodes.splice(0)) await node.remove();
    await redis.stop();
  });

  it('pages every row exactly once, in the list order, when sixty rows share the millisecond of page boundaries', async () => {
    const first = nodes[0] as JobsNode;
    const paged: Row[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await first.op('audit.list', { fleet: true, limit: 7, ...(cursor === undefined ? {} : { cursor }) });
      expect(page.status).toBe(200);
      paged.push(...(page.body.entries as Row[]));
      cursor = page.body.nextCursor ?? undefined;
      pages += 1;
    } while (cursor !== undefined && pages < 100);

    const ids = paged.map(idOf);
    expect(new Set(ids).size).toBe(ids.length);
    expect(paged.filter((e) => e.action === 'paging.burst')).toHaveLength(3 * BURST);
    expect(new Set(paged.filter((e) => e.action === 'paging.burst').map((e) => e.at))).toEqual(new Set([burstAt]));
    // Rows appended while paging are newer than the first page: the rest is the whole list at once.
    const whole = ((await first.op('audit.list', { fleet: true, limit: 500 })).body.entries as Row[]).filter(
      (e) => newerFirst(e, paged[0] as Row) >= 0,
    );
    expect(ids).toEqual(whole.map(idOf));
    expect([...paged].sort(newerFirst).map(idOf)).toEqual(ids);
  });

  it('keeps beforeAt as a bound: only rows before that instant', async () => {
    const page = await (nodes[1] as JobsNode).op('audit.list', { fleet: true, limit: 500, beforeAt: burstAt });
    expect(page.status).toBe(200);
    const rows = page.body.entries as Row[];
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((e) => e.at < burstAt)).toBe(true);
  });

  it("filters the fleet's trail by actor, action prefix, target and time, counting every node's matches, and pages the filtered rows", async () => {
    const node = nodes[1] as JobsNode;
    const filtered = async (input: Record<string, unknown>) => {
      const page = await node.op('audit.list', { fleet: true, limit: 500, ...input });
      expect(page.status).toBe(200);
      return page.body as { entries: (Row & { target: string; actor: string })[]; total: number };
    };
    const byPrefix = await filtered({ action: 'paging.bu' });
    expect(byPrefix.total).toBe(3 * BURST);
    expect(new Set(byPrefix.entries.map((e) => e.node)).size).toBe(3);
    expect(byPrefix.entries.every((e) => e.action === 'paging.burst')).toBe(true);
    const ofNode2 = await filtered({ action: 'paging', target: 'n2-' });
    expect(ofNode2.total).toBe(BURST);
    expect(ofNode2.entries.every((e) => e.target.startsWith('n2-'))).toBe(true);
    expect((await filtered({ actor: 'system', target: 'n0-7' })).entries.map((e) => e.target)).toEqual(['n0-7']);
    expect((await filtered({ action: 'paging', until: burstAt })).total).toBe(0);
    expect((await filtered({ action: 'paging', since: burstAt })).total).toBe(3 * BURST);

    const paged: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await node.op('audit.list', { fleet: true, action: 'paging', limit: 8, ...(cursor === undefined ? {} : { cursor }) });
      expect(page.body.total).toBe(3 * BURST);
      paged.push(...(page.body.entries as Row[]).map(idOf));
      cursor = page.body.nextCursor ?? undefined;
    } while (cursor !== undefined && paged.length < 500);
    expect(paged).toEqual(byPrefix.entries.map(idOf));
  });

  it('refuses a cursor it did not give, and a cursor without fleet, naming the field', async () => {
    const node = nodes[2] as JobsNode;
    const bogus = await node.op('audit.list', { fleet: true, cursor: 'not-a-cursor' });
    expect(bogus).toMatchObject({ status: 400, body: { error: { code: 'PH_INVALID_INPUT', field: 'cursor' } } });
    const given = (await node.op('audit.list', { fleet: true, limit: 1 })).body.nextCursor as string;
    const local = await node.op('audit.list', { cursor: given });
    expect(local).toMatchObject({ status: 400, body: { error: { code: 'PH_INVALID_INPUT', field: 'cursor' } } });
  });
});
