import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';

interface Row {
  action: string;
  target: string | null;
  outcome: string;
}

describe('the audit log says what each change was made to, and finds rows by the start of an action', () => {
  let t: TestPlane;
  beforeAll(async () => {
    t = await startTestPlane();
  });
  afterAll(async () => {
    await t?.stop();
  });

  const newest = async (action: string): Promise<Row> => (await t.op('audit.list', { action, limit: 1 })).body.entries[0] as Row;

  it('names the target of inputs that nest it or point at it by another field', async () => {
    expect((await t.op('ratelimit.tiers.save', { tier: { name: 'tiny', limit: 3, windowSeconds: 60, burst: 1 } })).status).toBe(200);
    expect(await newest('ratelimit.tiers.save')).toMatchObject({ target: 'tiny', outcome: 'ok' });
    // Refused calls are audited too, and name what they were refused on.
    await t.op('monitoring.alerts.acknowledge', { ruleId: 'redis-down' });
    expect(await newest('monitoring.alerts.acknowledge')).toMatchObject({ target: 'redis-down' });
    await t.op('monitoring.alerts.silence', { ruleId: 'redis-down', seconds: 60 });
    expect(await newest('monitoring.alerts.silence')).toMatchObject({ target: 'redis-down' });
    expect((await t.op('backup.snapshot.cancel', { sourceId: 'app' })).status).toBe(409);
    expect(await newest('backup.snapshot.cancel')).toMatchObject({ target: 'app', outcome: 'error' });
  });

  it('matches an action filter as a prefix: cache gives every cache.* row, a whole name only its own', async () => {
    await t.op('cache.clear', { namespace: 'orders' });
    await t.op('cache.warm', {});
    const cache = (await t.op('audit.list', { action: 'cache' })).body as { entries: Row[]; total: number };
    expect(cache.entries.map((e) => e.action)).toEqual(['cache.warm', 'cache.clear']);
    expect(cache.total).toBe(2);
    expect((await t.op('audit.list', { action: 'cache.clear' })).body.total).toBe(1);
  });
});
