import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';
import { startReceiver, type Receiver } from './receiver';

describe('webhooks.deliveries pages on the server with a true total', () => {
  let t: TestPlane;
  let rx: Receiver;
  let endpointId: string;
  const made: string[] = [];
  beforeAll(async () => {
    rx = await startReceiver();
    t = await startTestPlane();
    endpointId = (await t.op('webhooks.create', { url: rx.url, eventTypes: ['key.revoked'] })).body.endpoint.id;
    const store = t.plane.running.webhooks.deliveries;
    const start = Date.now() - 1_000_000;
    // Older first, one second apart, so newest-first order is the reverse of `made`.
    for (let i = 0; i < 130; i += 1) made.unshift(store.create(endpointId, `evt-${i}`, 'key.revoked', '{}', start + i * 1000).id);
  });
  afterAll(async () => {
    await t?.stop();
    await rx?.close();
  });

  it('answers offset+limit pages, newest first, that together hold every delivery once, with the count of all', async () => {
    const seen: string[] = [];
    for (let offset = 0; offset < 130; offset += 50) {
      const page = await t.op('webhooks.deliveries', { endpointId, limit: 50, offset });
      expect(page.status).toBe(200);
      expect(page.body.total).toBe(130);
      seen.push(...page.body.deliveries.map((d: { id: string }) => d.id));
    }
    expect(seen).toEqual(made);
    const past = await t.op('webhooks.deliveries', { endpointId, limit: 50, offset: 500 });
    expect(past.body).toMatchObject({ deliveries: [], total: 130 });
  });

  it('counts only what the filter matches', async () => {
    const other = await t.op('webhooks.deliveries', { endpointId: '0190f7c2-0000-7000-8000-000000000000' });
    expect(other.body).toEqual({ deliveries: [], total: 0 });
  });
});
