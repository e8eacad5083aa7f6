import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventMessage } from '../../contract/events';
import { discoveryPlane, upstream, waitFor, type DiscoveryPlane, type Upstream } from './helpers';

describe('discovery operations and REST routes', () => {
  let p: DiscoveryPlane;
  let up: Upstream;
  let operatorKey: string;
  const events: EventMessage[] = [];

  beforeAll(async () => {
    p = await discoveryPlane();
    up = await upstream('svc');
    operatorKey = await p.key('operator');
    p.plane.running.bus.subscribe((m) => events.push(m));
  });
  afterAll(async () => {
    await p.stop();
    await up.close();
  });

  const json = async (res: Response): Promise<any> => res.json();

  it('registers over POST /api/v2/services with checks that run, and audits the change', async () => {
    const res = await p.fetch('/api/v2/services', {
      method: 'POST',
      key: operatorKey,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'orders',
        id: 'orders-1',
        address: '127.0.0.1',
        port: up.port,
        version: '2.1.0',
        tags: ['eu'],
        checks: [{ kind: 'http', timeoutMs: 1000, intervalMs: 30 }],
      }),
    });
    expect(res.status).toBe(201);
    expect((await json(res)).instance).toMatchObject({ id: 'orders-1', state: 'critical' });
    await waitFor(async () => (await p.op('services.get', { id: 'orders-1' })).body.instance.state === 'passing', 3_000, 'passing');
    const audit = await p.op('audit.list', { limit: 5 });
    expect(audit.body.entries.find((e: { action: string }) => e.action === 'services.register')).toMatchObject({
      target: 'orders-1',
      outcome: 'ok',
    });
    expect(events.some((e) => e.event === 'service.registered' && e.payload.id === 'orders-1')).toBe(true);
    expect(events.some((e) => e.event === 'service.health' && e.payload.id === 'orders-1' && e.payload.state === 'passing')).toBe(true);
  });

  it('lists with filters in v2 (contract shape) and v1 (bare array), both with X-Registry-Index', async () => {
    const v2 = await p.fetch('/api/v2/services?name=orders&versionRange=%5E2');
    expect(v2.status).toBe(200);
    const body = await json(v2);
    expect(body.instances.map((i: { id: string }) => i.id)).toEqual(['orders-1']);
    expect(Number(v2.headers.get('x-registry-index'))).toBe(body.index);
    const v1 = await p.fetch('/api/v1/services?tag=eu');
    expect(v1.headers.get('deprecation')).toBeTruthy();
    expect((await json(v1)).map((i: { id: string }) => i.id)).toEqual(['orders-1']);
    const none = await json(await p.fetch('/api/v2/services?versionRange=%5E3'));
    expect(none.instances).toEqual([]);
  });

  it('refuses bad input with coded errors naming the field', async () => {
    const bad = await p.fetch('/api/v2/services', {
      method: 'POST',
      key: operatorKey,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'x', address: 'h', port: 70000 }),
    });
    expect(bad.status).toBe(400);
    expect((await json(bad)).error).toMatchObject({ code: 'PH_INVALID_INPUT', field: 'port' });
    const range = await p.fetch('/api/v2/services?versionRange=%3D%3D%3Dnope');
    expect((await json(range)).error.code).toBe('PH_DISCOVERY_BAD_RANGE');
    const missing = await p.fetch('/api/v2/services/nope');
    expect(missing.status).toBe(404);
    expect((await json(missing)).error.code).toBe('PH_DISCOVERY_NOT_FOUND');
    const viewer = await p.key('viewer');
    const forbidden = await p.fetch('/api/v2/services', {
      method: 'POST',
      key: viewer,
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(forbidden.status).toBe(403);
  });

  it('long-polls GET /services?index=N and returns when a matching instance changes', async () => {
    const { index } = await json(await p.fetch('/api/v2/services?name=orders'));
    const started = Date.now();
    const polling = p.fetch(`/api/v2/services?name=orders&index=${index}&waitMs=10000`).then(json);
    await new Promise((r) => setTimeout(r, 100));
    const maint = await p.fetch('/api/v2/services/orders-1/maintenance', {
      method: 'PUT',
      key: operatorKey,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ enabled: true, reason: 'upgrade' }),
    });
    expect((await json(maint)).instance.state).toBe('maintenance');
    const result = await polling;
    expect(result.changed).toBe(true);
    expect(result.index).toBeGreaterThan(index);
    expect(result.instances[0].state).toBe('maintenance');
    expect(Date.now() - started).toBeLessThan(5_000);
    const pick = await p.fetch('/api/v2/services/orders/pick');
    expect((await json(pick)).error.code).toBe('PH_DISCOVERY_NO_INSTANCE');
    await p.op('services.maintenance', { id: 'orders-1', enabled: false });
    expect((await json(await p.fetch('/api/v2/services/orders/pick'))).instance.id).toBe('orders-1');
  });

  it('heartbeats feed TTL checks over PUT /services/:id/heartbeat, v1 answering 204', async () => {
    await p.op(
      'services.register',
      { name: 'worker', id: 'worker-1', address: '127.0.0.1', port: 1, checks: [{ kind: 'ttl', ttlMs: 5_000 }] },
      operatorKey,
    );
    const v1 = await p.fetch('/api/v1/services/worker-1/heartbeat', {
      method: 'PUT',
      key: operatorKey,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ output: 'alive' }),
    });
    expect(v1.status).toBe(204);
    const v2 = await json(await p.fetch('/api/v2/services/worker-1'));
    expect(v2.instance).toMatchObject({ state: 'passing' });
    expect(v2.instance.checks[0]).toMatchObject({ status: 'passing', output: 'alive' });
    expect(v2.instance.checks[0].history[0]).toMatchObject({ status: 'passing', output: 'alive' });
  });

  it('summarises services with counts by instance health and the balancing policy', async () => {
    await p.op('services.configure', { name: 'worker', strategy: 'consistent-hash', hashHeader: 'X-User' });
    const { body } = await p.op('services.summary', {});
    const worker = body.services.find((s: { name: string }) => s.name === 'worker');
    expect(worker).toMatchObject({
      instances: 1,
      counts: { passing: 1, warning: 0, critical: 0, maintenance: 0 },
      policy: { strategy: 'consistent-hash', hashHeader: 'x-user' },
    });
  });

  it('offers instance counts by health to monitoring as series', async () => {
    const { body } = await p.op('monitoring.series', {});
    const names = body.series.map((s: { name: string }) => s.name);
    expect(names).toEqual(
      expect.arrayContaining(['discovery.instances_passing', 'discovery.instances_critical', 'discovery.instances_maintenance']),
    );
    expect(p.plane.running.discovery.registry.counts()).toMatchObject({ passing: 2, critical: 0 });
  });

  it('deregisters over DELETE, publishing service.deregistered and auditing it', async () => {
    const res = await p.fetch('/api/v2/services/worker-1', { method: 'DELETE', key: operatorKey });
    expect(await json(res)).toEqual({ id: 'worker-1', name: 'worker' });
    expect(events.some((e) => e.event === 'service.deregistered' && e.payload.id === 'worker-1')).toBe(true);
    const audit = await p.op('audit.list', { limit: 3 });
    expect(audit.body.entries[0]).toMatchObject({ action: 'services.deregister', target: 'worker-1', outcome: 'ok' });
    expect((await p.fetch('/api/v2/services/worker-1')).status).toBe(404);
  });

  it('reports the LAN discovery as off, with nothing discovered, when LAN access is off', async () => {
    const { body } = await p.op('services.discovered', {});
    expect(body).toEqual({ enabled: false, services: [] });
    const adopt = await p.op('services.adopt', { fqdn: 'x._http._tcp.local' });
    expect(adopt.body.error.code).toBe('PH_DISCOVERY_NOT_DISCOVERED');
  });
});

describe('shutting down with a long-poll open', () => {
  it('ends pending watches when the server closes, instead of holding the stop for their wait', async () => {
    const p = await discoveryPlane();
    const { body } = await p.op('services.list', {});
    const polling = p
      .fetch(`/api/v2/services?index=${body.index}&waitMs=60000`)
      .then(async (res) => ({ status: res.status, body: (await res.json()) as { changed: boolean } }));
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    await p.stop();
    expect(Date.now() - started).toBeLessThan(3_000);
    const result = await polling;
    expect(result.status).toBe(200);
    expect(result.body.changed).toBe(false);
  });
});
