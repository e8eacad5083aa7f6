import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';
import { until } from '../helpers/until';
import { startReceiver, type Receiver } from './receiver';

describe('the delivery sweep', () => {
  let t: TestPlane;
  let rx: Receiver;
  beforeAll(async () => {
    t = await startTestPlane(
      {},
      { webhooks: { baseDelayMs: 800, maxDelayMs: 800, retryWindowMs: 60_000, timeoutMs: 1_000, sweepEveryMs: 300 } },
    );
    rx = await startReceiver();
  });
  afterAll(async () => {
    await rx?.close();
    await t?.stop();
  });

  it('queues a new job for a try whose job ended without making it, where the ended job held its key', async () => {
    const endpoint = (await t.op('webhooks.create', { url: rx.url, eventTypes: ['key.revoked'] })).body.endpoint as { id: string };
    await rx.down();
    const key = (await t.op('keys.create', { name: 'swept', role: 'viewer' })).body.key.id as string;
    expect((await t.op('keys.revoke', { id: key })).status).toBe(200);
    const delivery = async () => (await t.op('webhooks.deliveries', { endpointId: endpoint.id })).body.deliveries[0];
    await until(async () => (await delivery())?.attempts >= 1, 5_000, 'a failed first try');

    // The next try's job ends without trying (as on a node that could not run it): cancelled while it waits.
    const queue = t.plane.running.batch.queue;
    let cancelled = '';
    await until(
      async () => {
        const { jobs } = await queue.list({ type: 'webhook.deliver', limit: 50 });
        const next = jobs.find((j) => j.state === 'delayed' || j.state === 'waiting');
        if (next === undefined) return false;
        await queue.cancel(next.id);
        cancelled = next.id;
        return true;
      },
      5_000,
      "the next try's job",
    );
    expect((await queue.get(cancelled)).state).toBe('cancelled');
    await rx.up();

    await until(async () => (await delivery())?.status === 'delivered', 10_000, 'the delivery, tried again by the sweep');
    expect(rx.received.filter((r) => r.status === 204)).toHaveLength(1);
    const { jobs } = await queue.list({ type: 'webhook.deliver', limit: 50 });
    expect(jobs.some((j) => j.idempotencyKey?.endsWith(`:after-${cancelled}`) === true)).toBe(true);
  });
});
