import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiReleases } from '../../contract/versions';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';

interface Answer {
  status: number;
  headers: Headers;
  body: any;
}

type ChangeId = (typeof apiReleases)[number]['changes'][number]['id'];

/**
 * Every declared change, each through the same handler: an old client (v1 in the URL, the header or
 * by its pinned key) gets the old shape, a new client the new one. A change declared without a case
 * here fails the last test.
 */
describe('API version changes, served through the chain of transforms', () => {
  let t: TestPlane;
  let operatorKey: string;

  async function call(method: string, path: string, init: { key?: string; headers?: Record<string, string>; body?: unknown } = {}) {
    const headers: Record<string, string> = { authorization: `Bearer ${init.key ?? operatorKey}`, ...init.headers };
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${t.url}${path}`, {
      method,
      headers,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text === '' ? undefined : JSON.parse(text) } satisfies Answer;
  }

  const register = (id: string) =>
    t.op('services.register', { name: 'orders', id, address: '127.0.0.1', port: 1, checks: [{ kind: 'ttl', ttlMs: 60_000 }] }, operatorKey);

  beforeAll(async () => {
    t = await startTestPlane();
    operatorKey = (await t.op('keys.create', { name: 'operator', role: 'operator' })).body.secret;
    await register('orders-1');
    // A heartbeat makes its TTL check pass, so `pick` has an instance to give.
    await t.op('services.heartbeat', { id: 'orders-1' }, operatorKey);
  });
  afterAll(async () => {
    await t?.stop();
  });

  const cases: Record<ChangeId, () => Promise<void>> = {
    'status-detailed': async () => {
      const v1 = await call('GET', '/api/v1/status');
      expect(v1.body).toEqual({ version: expect.any(String), uptime: expect.any(Number), services: expect.any(Object) });
      expect(Number.isInteger(v1.body.uptime)).toBe(true);
      expect(v1.body.services.http).toBe('running');
      const v2 = await call('GET', '/api/v2/status');
      expect(v2.body).toMatchObject({ version: v1.body.version, mode: 'headless', startedAt: expect.any(String) });
      expect(v2.body.services).toContainEqual(expect.objectContaining({ name: 'http', state: 'running' }));
    },
    'services-list-envelope': async () => {
      const v1 = await call('GET', '/api/services?name=orders', { headers: { 'api-version': 'v1' } });
      expect(v1.body.map((i: { id: string }) => i.id)).toContain('orders-1');
      const v2 = await call('GET', '/api/services?name=orders', { headers: { 'api-version': 'v2' } });
      expect(v2.body.instances.map((i: { id: string }) => i.id)).toContain('orders-1');
      // The header read from the latest result reaches both versions.
      expect(Number(v1.headers.get('x-registry-index'))).toBeGreaterThan(0);
      expect(Number(v2.headers.get('x-registry-index'))).toBe(v2.body.index);
    },
    'service-instance-envelope': async () => {
      for (const path of ['/services/orders-1', '/services/orders/pick']) {
        const v1 = await call('GET', `/api/v1${path}`);
        const v2 = await call('GET', `/api/v2${path}`);
        expect(v1.body).toMatchObject({ id: 'orders-1', name: 'orders' });
        expect(v1.body.instance).toBeUndefined();
        expect(v2.body.instance).toMatchObject({ id: 'orders-1', name: 'orders' });
      }
      const v1 = await call('PUT', '/api/v1/services/orders-1/maintenance', { body: { enabled: false } });
      expect(v1.body.id).toBe('orders-1');
    },
    'service-register-created': async () => {
      const body = { name: 'orders', address: '127.0.0.1', port: 2, checks: [{ kind: 'ttl', ttlMs: 60_000 }] };
      const v1 = await call('POST', '/api/v1/services', { body: { ...body, id: 'orders-old' } });
      expect(v1.status).toBe(200);
      expect(v1.body.id).toBe('orders-old');
      const v2 = await call('POST', '/api/v2/services', { body: { ...body, id: 'orders-new' } });
      expect(v2.status).toBe(201);
      expect(v2.body.instance.id).toBe('orders-new');
    },
    'service-acknowledgements-with-body': async () => {
      await register('orders-2');
      await register('orders-3');
      const beatV1 = await call('PUT', '/api/v1/services/orders-2/heartbeat', { body: { output: 'alive' } });
      expect([beatV1.status, beatV1.body]).toEqual([204, undefined]);
      const beatV2 = await call('PUT', '/api/v2/services/orders-2/heartbeat', { body: { output: 'alive' } });
      expect(beatV2.status).toBe(200);
      expect(beatV2.body).toEqual(expect.any(Object));
      const goneV1 = await call('DELETE', '/api/v1/services/orders-2');
      expect([goneV1.status, goneV1.body]).toEqual([204, undefined]);
      const goneV2 = await call('DELETE', '/api/v2/services/orders-3');
      expect(goneV2.status).toBe(200);
      expect(goneV2.body).toEqual(expect.any(Object));
      expect((await t.op('services.get', { id: 'orders-2' })).body.error.code).toBe('PH_DISCOVERY_NOT_FOUND');
    },
    'monitoring-routes': async () => {
      const v1 = await call('GET', '/api/monitoring/health', { headers: { 'api-version': 'v1' } });
      expect(v1.status).toBe(404);
      expect(v1.body.error.code).toBe('PH_NOT_FOUND');
      expect((await call('GET', '/api/v1/monitoring/health')).status).toBe(404);
      const v2 = await call('GET', '/api/v2/monitoring/health');
      expect(v2.status).toBe(200);
      expect(v2.body.dependencies).toEqual(expect.any(Array));
    },
  };

  for (const release of apiReleases)
    for (const change of release.changes)
      it(`${release.version} ${change.id}: the old client gets the old shape, the new client the new one`, async () => {
        const run = cases[change.id];
        expect(run, `no case for ${change.id}`).toBeDefined();
        await run();
      });

  it('answers a key pinned to v1 in v1 when the request names no version, and in what the request names otherwise', async () => {
    const pinned = (await t.op('keys.create', { name: 'old program', role: 'operator', apiVersion: 'v1' })).body;
    expect(pinned.key.apiVersion).toBe('v1');
    const bare = await call('GET', '/api/services?name=orders', { key: pinned.secret });
    expect(bare.headers.get('api-version')).toBe('v1');
    expect(bare.headers.get('deprecation')).toMatch(/^@\d+$/);
    expect(Array.isArray(bare.body)).toBe(true);
    const asked = await call('GET', '/api/services?name=orders', { key: pinned.secret, headers: { 'api-version': 'v2' } });
    expect(asked.headers.get('api-version')).toBe('v2');
    expect(asked.headers.get('deprecation')).toBeNull();
    expect(Array.isArray(asked.body.instances)).toBe(true);
    // An unpinned key gets the latest.
    expect(Array.isArray((await call('GET', '/api/services?name=orders')).body.instances)).toBe(true);

    // Moving the pin moves what the key gets, on its next request.
    const moved = await t.op('keys.pin', { id: pinned.key.id, apiVersion: null });
    expect(moved.body.key.apiVersion).toBeNull();
    const after = await call('GET', '/api/services?name=orders', { key: pinned.secret });
    expect(after.headers.get('api-version')).toBe('v2');
    expect(Array.isArray(after.body.instances)).toBe(true);
  });

  it('refuses a pin to a version that does not exist, with the field named', async () => {
    const res = await t.op('keys.create', { name: 'future', role: 'viewer', apiVersion: 'v9' });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'PH_INVALID_INPUT', field: expect.stringContaining('apiVersion') });
  });

  it('has a case above for every declared change', () => {
    const declared = apiReleases.flatMap((r) => r.changes.map((c) => c.id));
    expect(Object.keys(cases).sort()).toEqual([...declared].sort());
  });
});
