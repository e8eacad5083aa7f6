import { readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileSecretStore, fullJitterDelay, webhookReach } from '../../main/webhooks';
import { tempDir } from '../helpers/temp-dir';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';
import { until } from '../helpers/until';
import { startReceiver } from './receiver';

describe('webhook destinations', () => {
  const policy = webhookReach({ allowCidrs: ['203.0.113.0/24'], ownPort: () => 7420, redis: { host: '127.0.0.1', port: 6390 } });
  const refusedTarget = (address: string, port: number) => policy.refusal(address, port);

  it('allows loopback and private LAN ranges and the admin list; never link-local, unspecified, multicast, our own port or our Redis', async () => {
    expect(refusedTarget('127.0.0.1', 8080)).toBeNull();
    expect(refusedTarget('192.168.1.20', 443)).toBeNull();
    expect(refusedTarget('10.1.2.3', 80)).toBeNull();
    expect(refusedTarget('fd12::1', 80)).toBeNull();
    expect(refusedTarget('203.0.113.9', 443)).toBeNull();
    expect(refusedTarget('169.254.169.254', 80)).toMatch(/link-local/);
    expect(refusedTarget('::ffff:169.254.169.254', 80)).toMatch(/link-local/);
    expect(refusedTarget('fe80::1', 80)).toMatch(/link-local/);
    expect(refusedTarget('0.0.0.0', 80)).toMatch(/unspecified/);
    expect(refusedTarget('224.0.0.251', 5353)).toMatch(/multicast/);
    expect(refusedTarget('127.0.0.1', 7420)).toMatch(/own API/);
    expect(refusedTarget('8.8.8.8', 443)).toMatch(/outside the allowed ranges/);
    expect(refusedTarget('127.0.0.1', 6390)).toMatch(/Redis/);
    // The same policy as health checks: a name is resolved and every address it has is checked.
    await expect(policy.resolve('localhost', 7420)).rejects.toMatchObject({ code: 'PH_WEBHOOK_TARGET_REFUSED' });
    await expect(policy.resolve('[::ffff:169.254.169.254]', 80)).rejects.toMatchObject({ code: 'PH_WEBHOOK_TARGET_REFUSED' });
  });

  it('spreads retries with full jitter: anywhere from zero up to the doubled, capped delay', () => {
    const options = { baseDelayMs: 1000, maxDelayMs: 10_000 };
    expect(fullJitterDelay({ ...options, random: () => 0 }, 3)).toBe(0);
    expect(fullJitterDelay({ ...options, random: () => 0.999999 }, 1)).toBe(1000);
    expect(fullJitterDelay({ ...options, random: () => 0.5 }, 3)).toBe(2000);
    expect(fullJitterDelay({ ...options, random: () => 0.999999 }, 12)).toBe(10_000);
  });
});

describe('webhook endpoints through the API', () => {
  let t: TestPlane;
  beforeAll(async () => {
    t = await startTestPlane({}, { webhooks: { baseDelayMs: 30, maxDelayMs: 60, retryWindowMs: 1_500 } });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it("refuses a destination in link-local, outside the private ranges, or on this node's own port", async () => {
    for (const url of [
      'http://169.254.169.254/latest/meta-data',
      'http://8.8.8.8/hook',
      `${t.url}/api/v2/ops/keys.create`,
      'file:///etc/passwd',
    ]) {
      const res = await t.op('webhooks.create', { url, eventTypes: ['webhook.ping'] });
      expect(res.status, url).toBe(400);
      expect(['PH_WEBHOOK_TARGET_REFUSED', 'PH_INVALID_INPUT']).toContain(res.body.error.code);
    }
    expect((await t.op('webhooks.list')).body.endpoints).toHaveLength(0);
  });

  it('refuses credentials in a URL without echoing the password back', async () => {
    const res = await t.op('webhooks.create', { url: 'http://user:pw-s3cret@127.0.0.1:17650/x', eventTypes: ['webhook.ping'] });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('PH_WEBHOOK_TARGET_REFUSED');
    expect(res.body.error.message).toBe('http://user:***@127.0.0.1:17650/x: credentials in the URL are not allowed (they would be logged)');
    expect(JSON.stringify(res.body)).not.toContain('pw-s3cret');
  });

  it('lets only an admin register or rotate, and an operator read the log and ping', async () => {
    const operator = (await t.op('keys.create', { name: 'ops', role: 'operator' })).body.secret as string;
    const viewer = (await t.op('keys.create', { name: 'view', role: 'viewer' })).body.secret as string;
    expect((await t.op('webhooks.create', { url: 'http://127.0.0.1:9/x', eventTypes: ['webhook.ping'] }, operator)).status).toBe(403);
    expect((await t.op('webhooks.list', {}, viewer)).status).toBe(403);
    expect((await t.op('webhooks.list', {}, operator)).status).toBe(200);
  });

  it('refuses any caller a webhook.deliver or saga job of its own making: nothing is signed or sent, and the types are not offered', async () => {
    const rx = await startReceiver();
    try {
      const { endpoint } = (await t.op('webhooks.create', { url: rx.url, eventTypes: ['key.revoked'] })).body as {
        endpoint: { id: string };
      };
      const operator = (await t.op('keys.create', { name: 'forger', role: 'operator' })).body.secret as string;
      const delivery = {
        endpointId: endpoint.id,
        eventId: 'evt-forged',
        eventType: 'key.revoked',
        body: JSON.stringify({ type: 'key.revoked', data: { id: 'forged' } }),
        createdAt: new Date().toISOString(),
      };
      const forged = { type: 'webhook.deliver', payload: { deliveryId: 'forged-1', attempt: 1, delivery } };
      for (const key of [operator, t.adminKey]) {
        const refused = await t.op('jobs.enqueue', forged, key);
        expect(refused.status).toBe(403);
        expect(refused.body.error).toMatchObject({ code: 'PH_FORBIDDEN', field: 'type' });
      }
      const asChild = await t.op('jobs.enqueue', { type: 'cache.warm', children: [forged] }, operator);
      expect(asChild.body.error).toMatchObject({ code: 'PH_FORBIDDEN', field: 'children.0.type' });
      const saga = await t.op('jobs.enqueue', { type: 'saga.run', payload: { sagaId: 'any' } }, operator);
      expect(saga.body.error).toMatchObject({ code: 'PH_FORBIDDEN', field: 'type' });
      expect((await t.op('jobs.list', { type: 'webhook.deliver' })).body.total).toBe(0);
      expect((await t.op('webhooks.deliveries', { endpointId: endpoint.id })).body.deliveries).toEqual([]);
      const stats = (await t.op('jobs.stats', {}, operator)).body as { types: string[]; enqueueable: string[] };
      expect(stats.types).toEqual(expect.arrayContaining(['webhook.deliver', 'saga.run', 'saga.run.on-node']));
      expect(stats.enqueueable.filter((type) => type.startsWith('saga.') || type === 'webhook.deliver')).toEqual([]);
      expect(stats.enqueueable).toEqual(expect.arrayContaining(['cache.warm', 'backup.snapshot']));
    } finally {
      await rx.close();
    }
  });

  it('turns off an endpoint still failing when the retry window runs out, and says so on the event stream', async () => {
    const rx = await startReceiver();
    rx.answer = () => ({ status: 500 });
    const seen: unknown[] = [];
    const off = t.plane.running.bus.subscribe((m) => {
      if (m.event === 'webhooks.endpoint') seen.push(m.payload);
    });
    try {
      const { endpoint } = (await t.op('webhooks.create', { url: rx.url, eventTypes: ['webhook.ping'] })).body as {
        endpoint: { id: string };
      };
      await t.op('webhooks.test', { id: endpoint.id });
      await until(
        async () => (await t.op('webhooks.deliveries', { endpointId: endpoint.id })).body.deliveries[0]?.status === 'failed',
        5_000,
        'the window to run out',
      );
      const [delivery] = (await t.op('webhooks.deliveries', { endpointId: endpoint.id })).body.deliveries as { attempts: number }[];
      expect(delivery!.attempts).toBeGreaterThan(1);
      expect(rx.received.length).toBe(delivery!.attempts);
      const listed = (await t.op('webhooks.list')).body.endpoints.find((e: { id: string }) => e.id === endpoint.id);
      expect(listed.enabled).toBe(false);
      expect(listed.disabledReason).toMatch(/kept failing/);
      expect(seen).toContainEqual(expect.objectContaining({ id: endpoint.id, enabled: false }));

      expect((await t.op('webhooks.update', { id: endpoint.id, enabled: true })).body.endpoint).toMatchObject({
        enabled: true,
        disabledReason: null,
      });
      rx.answer = () => ({ status: 200 });
      expect((await t.op('webhooks.redeliver', { failedOf: endpoint.id })).body.queued).toBe(1);
      await until(() => rx.received.some((r) => r.status === 200), 5_000, 'the redelivery after re-enabling');
    } finally {
      off();
      await rx.close();
    }
  });
});

describe('webhook secret files', () => {
  it('keeps each endpoint secret in a 0600 file, replaced whole, and will not follow a planted link', () => {
    const dir = tempDir('ph-webhook-secrets-');
    try {
      const store = new FileSecretStore(join(dir.path, 'webhook-secrets'));
      store.write('endpoint-1', [{ secret: 'whsec_a', expiresAt: null }]);
      store.write('endpoint-1', [
        { secret: 'whsec_b', expiresAt: null },
        { secret: 'whsec_a', expiresAt: 5 },
      ]);
      expect(store.read('endpoint-1').map((s) => s.secret)).toEqual(['whsec_b', 'whsec_a']);
      expect(statSync(join(dir.path, 'webhook-secrets', 'endpoint-1.json')).mode & 0o777).toBe(0o600);
      expect(readdirSync(join(dir.path, 'webhook-secrets'))).toEqual(['endpoint-1.json']);

      writeFileSync(join(dir.path, 'elsewhere'), '[{"secret":"planted","expiresAt":null}]');
      symlinkSync(join(dir.path, 'elsewhere'), join(dir.path, 'webhook-secrets', 'endpoint-2.json'));
      expect(() => store.read('endpoint-2')).toThrow(/ELOOP|symbolic link/);
      expect(() => store.read('../elsewhere')).toThrow(/Not an endpoint id/);
    } finally {
      dir.remove();
    }
  });
});
