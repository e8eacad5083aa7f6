import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';

describe('backup.snapshots.list pages on the server with a true total', () => {
  let t: TestPlane;
  const made: string[] = [];
  beforeAll(async () => {
    t = await startTestPlane();
    for (let i = 0; i < 7; i += 1) made.unshift((await t.op('backup.snapshot', { id: 'app' })).body.snapshot.id);
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('answers offset+limit pages, newest first, that together hold every snapshot once, with the count of all', async () => {
    const seen: string[] = [];
    for (let offset = 0; offset < 7; offset += 3) {
      const page = await t.op('backup.snapshots.list', { sourceId: 'app', limit: 3, offset });
      expect(page.body.total).toBe(7);
      expect(page.body.snapshots.length).toBe(Math.min(3, 7 - offset));
      seen.push(...page.body.snapshots.map((s: { id: string }) => s.id));
    }
    expect(seen).toEqual(made);
    expect((await t.op('backup.snapshots.list', { sourceId: 'nope' })).body).toEqual({ snapshots: [], total: 0 });
    expect((await t.op('backup.snapshots.list', { offset: 1_000_001 })).status).toBe(400);
  });
});
