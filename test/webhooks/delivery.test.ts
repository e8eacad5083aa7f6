import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';
import { until } from '../helpers/until';
import { startReceiver, verifyAsDocumented, type Receiver } from './receiver';

interface Delivery {
  id: string;
  eventId: string;
  eventType: string;
  status: string;
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  log: { attempt: number; statusCode: number | null; error: string | null; response: string | null; durationMs: number }[];
}

describe('webhook delivery to a real receiver', () => {
  let t: TestPlane;
  let rx: Receiver;
  beforeAll(async () => {
    t = await startTestPlane(
      {},
      { webhooks: { baseDelayMs: 40, maxDelayMs: 150, retryWindowMs: 60_000, timeoutMs: 1_000, maxResponseBytes: 64 } },
    );
  });
  afterAll(async () => {
    await t?.stop();
  });
  afterEach(async () => {
    await rx?.close();
  });

  const create = async (url: string, eventTypes: string[], filter?: Record<string, unknown>) => {
    const res = await t.op('webhooks.create', { url, eventTypes, ...(filter === undefined ? {} : { filter }) });
    expect(res.status).toBe(200);
    return res.body as { endpoint: { id: string; enabled: boolean; disabledReason: string | null }; secret: string };
  };
  const deliveries = async (endpointId: string): Promise<Delivery[]> =>
    (await t.op('webhooks.deliveries', { endpointId })).body.deliveries as Delivery[];
  const revokeNewKey = async (name: string): Promise<string> => {
    const key = (await t.op('keys.create', { name, role: 'viewer' })).body.key.id as string;
    expect((await t.op('keys.revoke', { id: key })).status).toBe(200);
    return key;
  };

  it('signs a delivery as Standard Webhooks so a receiver verifies it with the documented algorithm', async () => {
    rx = await startReceiver();
    const { endpoint, secret } = await create(rx.url, ['key.revoked']);
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const keyId = await revokeNewKey('to revoke');
    await until(async () => (await deliveries(endpoint.id))[0]?.status === 'delivered', 5_000, 'the delivery');
    const got = rx.received[0]!;
    expect(verifyAsDocumented(secret, got.headers, got.body)).toBe(true);
    expect(verifyAsDocumented(secret, got.headers, got.body.replace(keyId, 'tampered'))).toBe(false);
    expect(JSON.parse(got.body)).toMatchObject({ type: 'key.revoked', data: { id: keyId } });
    const [d] = await deliveries(endpoint.id);
    expect(d).toMatchObject({ status: 'delivered', attempts: 1, lastStatus: 204, eventId: got.headers['webhook-id'] });
    const secretFile = statSync(join(t.dataDir, 'webhook-secrets', `${endpoint.id}.json`));
    expect(secretFile.mode & 0o777).toBe(0o600);
  });

  it('gets every event exactly once to a receiver that was down for a while, each under its event id', async () => {
    rx = await startReceiver();
    const { endpoint } = await create(rx.url, ['key.revoked']);
    await rx.down();
    const revoked = [];
    for (let i = 0; i < 5; i += 1) revoked.push(await revokeNewKey(`k${i}`));
    await until(async () => (await deliveries(endpoint.id)).every((d) => d.attempts >= 2), 5_000, 'failed attempts while down');
    await rx.up();
    await until(async () => (await deliveries(endpoint.id)).every((d) => d.status === 'delivered'), 10_000, 'every delivery');
    const ok = rx.received.filter((r) => r.status === 204);
    expect(ok.map((r) => (JSON.parse(r.body) as { data: { id: string } }).data.id).sort()).toEqual([...revoked].sort());
    expect(new Set(ok.map((r) => r.headers['webhook-id'])).size).toBe(5);
    const log = (await deliveries(endpoint.id))[0]!.log;
    expect(log.slice(0, -1).every((a) => a.statusCode === null && a.error !== null)).toBe(true);
    expect(log.at(-1)?.statusCode).toBe(204);
  });

  it('turns off an endpoint that answers 410 Gone and sends it nothing more', async () => {
    rx = await startReceiver();
    rx.answer = () => ({ status: 410 });
    const { endpoint } = await create(rx.url, ['key.revoked']);
    await revokeNewKey('gone-1');
    await until(async () => (await deliveries(endpoint.id))[0]?.status === 'failed', 5_000, 'the 410');
    const listed = (await t.op('webhooks.list')).body.endpoints.find((e: { id: string }) => e.id === endpoint.id);
    expect(listed).toMatchObject({ enabled: false, disabledReason: 'the receiver answered 410 Gone' });
    await revokeNewKey('gone-2');
    expect(await deliveries(endpoint.id)).toHaveLength(1);
    expect(rx.received).toHaveLength(1);
    const audit = (await t.op('audit.list', { limit: 20 })).body.entries as { action: string; target: string }[];
    expect(audit.some((e) => e.action === 'webhooks.disable' && e.target === endpoint.id)).toBe(true);
    // Its registration names the endpoint it made (the input has only a URL, which may carry a token).
    expect(audit.some((e) => e.action === 'webhooks.create' && e.target === endpoint.id)).toBe(true);
  });

  it('keeps deliveries verifiable through a secret rotation: both signatures during the overlap, the new one after', async () => {
    rx = await startReceiver();
    const { endpoint, secret: oldSecret } = await create(rx.url, ['webhook.ping']);
    const rotated = (await t.op('webhooks.rotate', { id: endpoint.id, overlapSeconds: 3600 })).body as {
      secret: string;
      endpoint: { activeSecrets: number };
    };
    expect(rotated.endpoint.activeSecrets).toBe(2);
    expect((await t.op('webhooks.test', { id: endpoint.id })).status).toBe(200);
    await until(() => rx.received.length === 1, 5_000, 'the ping');
    const during = rx.received[0]!;
    expect(String(during.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(verifyAsDocumented(oldSecret, during.headers, during.body)).toBe(true);
    expect(verifyAsDocumented(rotated.secret, during.headers, during.body)).toBe(true);

    const final = (await t.op('webhooks.rotate', { id: endpoint.id, overlapSeconds: 0 })).body as { secret: string };
    await t.op('webhooks.test', { id: endpoint.id });
    await until(() => rx.received.length === 2, 5_000, 'the second ping');
    const after = rx.received[1]!;
    expect(verifyAsDocumented(final.secret, after.headers, after.body)).toBe(true);
    expect(verifyAsDocumented(rotated.secret, after.headers, after.body)).toBe(false);
    expect(verifyAsDocumented(oldSecret, after.headers, after.body)).toBe(false);
  });

  it('redelivers under the same webhook-id, so the receiver can tell it is the same event', async () => {
    rx = await startReceiver();
    const { endpoint } = await create(rx.url, ['webhook.ping']);
    const ping = (await t.op('webhooks.test', { id: endpoint.id })).body.delivery as Delivery;
    await until(() => rx.received.length === 1, 5_000, 'the ping');
    expect((await t.op('webhooks.redeliver', { ids: [ping.id] })).body.queued).toBe(1);
    await until(() => rx.received.length === 2, 5_000, 'the redelivery');
    expect(rx.received[1]!.headers['webhook-id']).toBe(rx.received[0]!.headers['webhook-id']);
    expect(rx.received[1]!.body).toBe(rx.received[0]!.body);
  });

  it('follows no redirect, caps the answer it keeps, and gives up on a receiver slower than the timeout', async () => {
    rx = await startReceiver();
    const elsewhere = await startReceiver();
    try {
      rx.answer = () => ({ status: 302, headers: { location: elsewhere.url }, body: 'x'.repeat(10_000) });
      const { endpoint } = await create(rx.url, ['webhook.ping']);
      await t.op('webhooks.test', { id: endpoint.id });
      // `>= 1`: a retry follows within the 40 ms back-off, so a loaded poll may first see the second attempt.
      await until(async () => ((await deliveries(endpoint.id))[0]?.attempts ?? 0) >= 1, 5_000, 'the first attempt');
      const [first] = await deliveries(endpoint.id);
      expect(first!.log[0]!.statusCode).toBe(302);
      expect(first!.log[0]!.response).toHaveLength(64);
      expect(elsewhere.received).toHaveLength(0);

      rx.answer = () => ({ status: 200, delayMs: 3_000 });
      await until(
        async () => (await deliveries(endpoint.id))[0]!.log.some((a) => a.error?.includes('timed out') === true),
        8_000,
        'a timed-out attempt',
      );
    } finally {
      await elsewhere.close();
    }
  });

  it('sends an endpoint only the event types it took and the events its filter passes', async () => {
    rx = await startReceiver();
    const { endpoint } = await create(rx.url, ['key.revoked'], { by: 'nobody' });
    await revokeNewKey('filtered');
    await t.op('webhooks.test', { id: endpoint.id });
    await until(() => rx.received.length === 1, 5_000, 'the ping');
    expect(JSON.parse(rx.received[0]!.body).type).toBe('webhook.ping');
    expect((await deliveries(endpoint.id)).map((d) => d.eventType)).toEqual(['webhook.ping']);
  });
});
