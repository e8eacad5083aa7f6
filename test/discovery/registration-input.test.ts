import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoveryPlane, upstream, type DiscoveryPlane, type Upstream } from './helpers';

/** A host name of exactly 253 characters: four labels of 63 and one of 61. */
const LONGEST_NAME = [...Array.from({ length: 3 }, (_, i) => `${'h'.repeat(62)}${i}`), `${'t'.repeat(60)}z`].join('.');

describe('what a registration may carry', () => {
  let p: DiscoveryPlane;
  let up: Upstream;
  beforeAll(async () => {
    p = await discoveryPlane();
    up = await upstream('reg');
  });
  afterAll(async () => {
    await p.stop();
    await up.close();
  });

  it('refuses an address that is not a host name or an IP address, saying what it must be', async () => {
    for (const address of [
      '169.254.169.254/x?',
      '10.1.1.1/a',
      'host:8080',
      'a b',
      'http://web',
      '[::1]',
      'web_1..local',
      'user@web',
      ':::zz',
    ]) {
      const res = await p.op('services.register', { name: 'inj', address, port: 7566 });
      expect(res.status, address).toBe(400);
      expect(res.body.error, address).toMatchObject({ code: 'PH_INVALID_INPUT', field: 'address' });
      expect(res.body.error.message, address).toMatch(/host name|IP address/);
    }
    const check = await p.op('services.register', {
      name: 'inj',
      address: '127.0.0.1',
      port: up.port,
      checks: [{ kind: 'tcp', host: '10.1.1.1/a' }],
    });
    expect(check.body.error).toMatchObject({ code: 'PH_INVALID_INPUT', field: 'checks.0.host' });
  });

  it('accepts host names, IPv4 and IPv6 addresses', async () => {
    for (const address of ['web-1.lan', 'db_primary', 'web.local.', '10.1.1.1', '::1', 'fd00::12']) {
      const res = await p.op('services.register', { name: 'ok', address, port: 7566 });
      expect(res.status, address).toBe(200);
      expect(res.body.instance.address).toBe(address);
    }
  });

  it('gives an instance with the longest host name a valid default id it can be read and deregistered by', async () => {
    expect(LONGEST_NAME).toHaveLength(253);
    const res = await p.op('services.register', { name: 'long', address: LONGEST_NAME, port: 7566 });
    expect(res.status).toBe(200);
    const id = res.body.instance.id as string;
    expect(id.length).toBeLessThanOrEqual(128);
    expect(id).toMatch(/^long-h{62}0\.h+-[0-9a-f]{16}$/);
    expect((await p.op('services.register', { name: 'long', address: LONGEST_NAME, port: 7567 })).body.instance.id).not.toBe(id);
    expect((await p.op('services.get', { id })).status).toBe(200);
    expect((await p.op('services.deregister', { id })).status).toBe(200);
    expect((await p.op('services.get', { id })).status).toBe(404);
    expect((await p.op('services.register', { name: 'short', address: '10.1.1.1', port: 7566 })).body.instance.id).toBe(
      'short-10.1.1.1-7566',
    );
  });

  it('limits metadata keys to 64 characters and values to 512, naming the field and not the key', async () => {
    const ok = await p.op('services.register', { name: 'meta', address: '10.0.0.9', port: 1, meta: { ['k'.repeat(64)]: 'v'.repeat(512) } });
    expect(ok.status).toBe(200);
    const longKey = await p.op('services.register', { name: 'meta', address: '10.0.0.9', port: 2, meta: { ['k'.repeat(30_000)]: 'v' } });
    expect(longKey.status).toBe(400);
    expect(longKey.body.error).toMatchObject({ code: 'PH_INVALID_INPUT', field: 'meta' });
    expect(longKey.body.error.message.length).toBeLessThan(300);
    expect(longKey.body.error.message).toMatch(/64/);
    const longValue = await p.op('services.register', { name: 'meta', address: '10.0.0.9', port: 3, meta: { k: 'v'.repeat(513) } });
    expect(longValue.status).toBe(400);
    expect(longValue.body.error.field).toBe('meta.k');
  });

  it('gives a TTL check without ttlMs the documented 30 s', async () => {
    const res = await p.op('services.register', { name: 'beat', id: 'beat-1', address: '10.0.0.8', port: 1, checks: [{ kind: 'ttl' }] });
    expect(res.status).toBe(200);
    expect(res.body.instance.checks[0]).toMatchObject({ kind: 'ttl', intervalMs: 30_000, target: 'heartbeat within 30000 ms' });
  });

  it('says how many TTL checks a heartbeat fed: none for an instance without one', async () => {
    await p.op('services.register', { name: 'beat', id: 'beat-2', address: '10.0.0.8', port: 2, checks: [] });
    const none = await p.op('services.heartbeat', { id: 'beat-2' });
    expect(none.status).toBe(200);
    expect(none.body.ttlChecksFed).toBe(0);
    expect(none.body.instance.lastHeartbeatAt).not.toBeNull();
    expect((await p.op('services.heartbeat', { id: 'beat-1' })).body.ttlChecksFed).toBe(1);
  });

  it('answers a WebSocket upgrade through the gateway with a coded 501, not a bare 404', async () => {
    const { hostname, port } = new URL(p.url);
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({
        hostname,
        port,
        path: '/gw/reg/socket',
        headers: {
          connection: 'Upgrade',
          upgrade: 'websocket',
          'sec-websocket-version': '13',
          'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        },
      });
      req.on('response', (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('upgrade', () => reject(new Error('upgraded')));
      req.on('error', reject);
      req.end();
    });
    expect(answer.status).toBe(501);
    expect(JSON.parse(answer.body).error.code).toBe('PH_DISCOVERY_UPGRADE_NOT_PROXIED');
  });
});
