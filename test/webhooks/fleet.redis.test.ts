import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';
import { startRedis, type TestRedis } from '../helpers/redis-server';
import { until } from '../helpers/until';
import { startReceiver, verifyAsDocumented, type Receiver } from './receiver';

describe('webhook delivery in a fleet on one Redis', () => {
  let redis: TestRedis;
  let a: TestPlane;
  let b: TestPlane;
  let rx: Receiver;
  beforeAll(async () => {
    redis = await startRedis();
    rx = await startReceiver();
    a = await startTestPlane({ redisUrl: redis.url });
    b = await startTestPlane({ redisUrl: redis.url });
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await rx?.close();
    await redis?.stop();
  });

  it('delivers each event once through the shared queue, on the node that holds the endpoint and its secret', async () => {
    const { endpoint, secret } = (await a.op('webhooks.create', { url: rx.url, eventTypes: ['webhook.ping'] })).body as {
      endpoint: { id: string };
      secret: string;
    };
    expect((await a.op('jobs.stats')).body.backend).toBe('bullmq');
    const ids: string[] = [];
    for (let i = 0; i < 6; i += 1) ids.push(((await a.op('webhooks.test', { id: endpoint.id })).body.delivery as { id: string }).id);
    await until(() => ids.every((id) => a.plane.running.webhooks.deliveries.row(id)?.status === 'delivered'), 15_000, 'six deliveries');
    expect(rx.received).toHaveLength(6);
    expect(new Set(rx.received.map((r) => r.headers['webhook-id'])).size).toBe(6);
    expect(rx.received.every((r) => verifyAsDocumented(secret, r.headers, r.body))).toBe(true);
  });
});
