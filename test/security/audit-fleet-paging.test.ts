import { afterEach, describe, expect, it } from 'vitest';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';

describe('audit.list {fleet: true} on a single machine', () => {
  let t: TestPlane;
  afterEach(async () => {
    await t?.stop();
  });

  it('pages this node’s rows with the same cursor as a fleet, each row once', async () => {
    t = await startTestPlane();
    for (let i = 0; i < 30; i += 1)
      t.plane.running.audit.append({ actor: 'system', action: 'paging.burst', target: `r-${i}`, outcome: 'ok' });
    const seqs: number[] = [];
    let cursor: string | undefined;
    do {
      const page = await t.op('audit.list', { fleet: true, limit: 7, ...(cursor === undefined ? {} : { cursor }) });
      expect(page.status).toBe(200);
      seqs.push(...(page.body.entries as { seq: number }[]).map((e) => e.seq));
      cursor = page.body.nextCursor ?? undefined;
    } while (cursor !== undefined && seqs.length < 1_000);
    const whole = (await t.op('audit.list', { limit: 500 })).body.entries as { seq: number }[];
    expect(seqs).toEqual(whole.map((e) => e.seq));
  });

  it('filters as a fleet would: action prefix, target and the earlier of until and beforeAt', async () => {
    t = await startTestPlane();
    const stamps: string[] = [];
    const pause = () => new Promise((r) => setTimeout(r, 3));
    for (let i = 0; i < 6; i += 1) {
      // An instant strictly between row i-1 and row i.
      await pause();
      stamps.push(new Date().toISOString());
      await pause();
      t.plane.running.audit.append({ actor: 'system', action: i % 2 === 0 ? 'drill.even' : 'drill.odd', target: `r-${i}`, outcome: 'ok' });
    }
    const list = async (input: Record<string, unknown>) => (await t.op('audit.list', { fleet: true, ...input })).body;
    const even = await list({ action: 'drill.even' });
    expect(even.total).toBe(3);
    expect(even.entries.map((e: { target: string }) => e.target)).toEqual(['r-4', 'r-2', 'r-0']);
    expect((await list({ action: 'drill', target: 'r-3' })).entries).toHaveLength(1);
    const bounded = await list({ action: 'drill', until: stamps[3], beforeAt: stamps[2] });
    expect(bounded.entries.map((e: { target: string }) => e.target)).toEqual(['r-1', 'r-0']);
    // One node's paging is refused by name, not ignored.
    const mixed = await t.op('audit.list', { fleet: true, beforeSeq: 5 });
    expect(mixed).toMatchObject({ status: 400, body: { error: { code: 'PH_INVALID_INPUT', field: 'beforeSeq' } } });
  });
});
