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
});
