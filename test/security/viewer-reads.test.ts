import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';
import { until } from '../helpers/until';
import { startReceiver, type Receiver } from '../webhooks/receiver';

/**
 * docs/security.md: a viewer "cannot read the audit log, cache keys and values, usage per key…".
 * Key names and a webhook's event bodies reached viewers through reads and events that were
 * otherwise theirs to have: stats, events and the job list.
 */
describe('what a viewer key is kept from, where it reads beside operators', () => {
  let t: TestPlane;
  let rx: Receiver;
  let viewer: string;
  let operator: string;
  beforeAll(async () => {
    t = await startTestPlane();
    rx = await startReceiver();
    viewer = (await t.op('keys.create', { name: 'dashboard', role: 'viewer' })).body.secret as string;
    operator = (await t.op('keys.create', { name: 'program', role: 'operator' })).body.secret as string;
  });
  afterAll(async () => {
    await rx?.close();
    await t?.stop();
  });

  it('shows cache stats without key names to a viewer, and with them to an operator', async () => {
    await t.op('cache.put', { namespace: 'people', key: 'alice@corp.example', value: { ssn: 'x' } }, operator);
    for (let i = 0; i < 40; i += 1) await t.op('cache.get', { namespace: 'people', key: 'alice@corp.example' }, operator);
    const seen = (await t.op('cache.stats', {}, operator)).body;
    expect(seen.keysHidden).toBe(false);
    expect(seen.largest.map((k: { key: string }) => k.key)).toContain('alice@corp.example');
    const hidden = (await t.op('cache.stats', {}, viewer)).body;
    expect(hidden).toMatchObject({ keysHidden: true, hottest: [], largest: [] });
    expect(JSON.stringify(hidden)).not.toContain('alice@corp.example');
    expect(hidden.namespaces.map((n: { name: string }) => n.name)).toContain('people');
  });

  it('leaves out of what a viewer follows the events that name cache keys, and lets an operator follow them', async () => {
    const follow = async (key: string): Promise<string[]> => {
      const ws = new WebSocket(`${t.url.replace('http', 'ws')}/ws`, { headers: { authorization: `Bearer ${key}` } });
      await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
      const answer = new Promise<{ result: { events: string[] } }>((resolve) =>
        ws.on('message', (data) => {
          const frame = JSON.parse(String(data)) as { id?: number; result: { events: string[] } };
          if (frame.id === 1) resolve(frame);
        }),
      );
      ws.send(JSON.stringify({ type: 'events', events: ['cache.written', 'cache.invalidated', 'cache.stats'], id: 1 }));
      try {
        return (await answer).result.events;
      } finally {
        ws.close();
      }
    };
    expect(await follow(viewer)).toEqual(['cache.stats']);
    expect(await follow(operator)).toEqual(['cache.written', 'cache.invalidated', 'cache.stats']);
  });

  it('lists a webhook delivery job to a viewer without its payload, which carries the event body', async () => {
    const { endpoint } = (await t.op('webhooks.create', { url: rx.url, eventTypes: ['webhook.ping'] })).body as {
      endpoint: { id: string };
    };
    await t.op('webhooks.test', { id: endpoint.id });
    await until(() => rx.received.length > 0, 5_000, 'the ping delivered');
    const asViewer = (await t.op('jobs.list', { type: 'webhook.deliver' }, viewer)).body.jobs as {
      id: string;
      payload: unknown;
      result: unknown;
    }[];
    expect(asViewer.length).toBeGreaterThan(0);
    for (const job of asViewer) expect(job).toMatchObject({ payload: null, result: null });
    expect((await t.op('jobs.get', { id: asViewer[0]!.id }, viewer)).body.job.payload).toBeNull();
    const asOperator = (await t.op('jobs.list', { type: 'webhook.deliver' }, operator)).body.jobs as { payload: unknown }[];
    // Here the job names its delivery row; in a fleet it carries the delivery itself, the event's body included.
    expect(asOperator[0]?.payload).toMatchObject({ deliveryId: expect.any(String), attempt: 1 });
  });
});
