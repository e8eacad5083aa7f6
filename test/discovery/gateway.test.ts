import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoveryPlane, upstream, type DiscoveryPlane, type Upstream } from './helpers';

describe('gateway /gw/<service>/<path>', () => {
  let p: DiscoveryPlane;
  let ups: Upstream[];
  let gatewayKey: string;

  beforeAll(async () => {
    p = await discoveryPlane();
    ups = await Promise.all([upstream('one'), upstream('two')]);
    for (const [i, u] of ups.entries()) {
      const res = await p.op('services.register', { name: 'echo', id: `echo-${i + 1}`, address: '127.0.0.1', port: u.port });
      expect(res.status).toBe(200);
    }
    gatewayKey = await p.key('viewer', ['gateway:echo']);
  });
  afterAll(async () => {
    await p.stop();
    await Promise.all(ups.map((u) => u.close()));
  });

  it('proxies method, path, query and body to a picked instance, with forwarding headers and no Pilothouse credential', async () => {
    const res = await p.fetch('/gw/echo/orders/7?expand=lines', {
      method: 'POST',
      key: gatewayKey,
      headers: { 'content-type': 'application/json', 'x-forwarded-for': '10.9.9.9' },
      body: JSON.stringify({ qty: 2 }),
    });
    expect(res.status).toBe(200);
    const answeredBy = res.headers.get('x-upstream');
    const u = ups.find((x) => `hello from ${answeredBy}` === x.body) as Upstream;
    const seen = u.requests.at(-1);
    expect(seen).toMatchObject({ method: 'POST', url: '/orders/7?expand=lines', body: '{"qty":2}' });
    expect(seen?.headers['authorization']).toBeUndefined();
    expect(seen?.headers['x-forwarded-for']).toBe('10.9.9.9, 127.0.0.1');
    expect(seen?.headers['x-forwarded-proto']).toBe('http');
    expect(seen?.headers['x-forwarded-host']).toBe(new URL(p.url).host);
    expect(seen?.headers['x-forwarded-prefix']).toBe('/gw/echo');
    expect(seen?.headers['forwarded']).toBe(`for=127.0.0.1;host="${new URL(p.url).host}";proto=http`);
    expect(seen?.headers['x-request-id']).toBeTruthy();
  });

  it('spreads requests over the instances round-robin and reports per-instance traffic', async () => {
    const answered = new Set<string>();
    for (let i = 0; i < 6; i += 1) {
      const res = await p.fetch('/gw/echo/', { key: gatewayKey });
      expect(res.status).toBe(200);
      answered.add(res.headers.get('x-upstream') ?? '');
      await res.text();
    }
    expect(answered).toEqual(new Set(['one', 'two']));
    const { body } = await p.op('services.traffic', { name: 'echo' });
    for (const row of body.instances) {
      expect(row.requests).toBeGreaterThanOrEqual(3);
      expect(row.p99Ms).toBeGreaterThan(0);
      expect(row.ejected).toBe(false);
    }
  });

  it('needs a key with the gateway scope for that service', async () => {
    const plain = await p.key('viewer');
    const other = await p.key('viewer', ['gateway:billing']);
    const wide = await p.key('viewer', ['gateway']);
    const denied = await p.fetch('/gw/echo/', { key: plain });
    expect(denied.status).toBe(403);
    expect(((await denied.json()) as any).error.code).toBe('PH_DISCOVERY_SCOPE_REQUIRED');
    expect((await p.fetch('/gw/echo/', { key: other })).status).toBe(403);
    expect((await p.fetch('/gw/echo/', { key: wide })).status).toBe(200);
    const anonymous = await p.fetch('/gw/echo/', { key: null });
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as any).error.code).toBe('PH_UNAUTHENTICATED');
  });

  it('answers 503 PH_DISCOVERY_NO_INSTANCE for a service with no passing instance', async () => {
    const res = await p.fetch('/gw/nothing-here/x', { key: await p.key('viewer', ['gateway']) });
    expect(res.status).toBe(503);
    expect(((await res.json()) as any).error.code).toBe('PH_DISCOVERY_NO_INSTANCE');
  });

  it('retries an idempotent request once on another instance when the first refuses the connection', async () => {
    const dead = await upstream('dead');
    await dead.close();
    await p.op('services.register', { name: 'flaky', id: 'flaky-dead', address: '127.0.0.1', port: dead.port });
    await p.op('services.register', { name: 'flaky', id: 'flaky-live', address: '127.0.0.1', port: ups[0]!.port });
    const key = await p.key('viewer', ['gateway']);
    for (let i = 0; i < 4; i += 1) {
      const res = await p.fetch('/gw/flaky/ping', { key });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-upstream')).toBe('one');
    }
    const { body } = await p.op('services.traffic', { name: 'flaky' });
    const deadRow = body.instances.find((r: { id: string }) => r.id === 'flaky-dead');
    expect(deadRow.errors).toBeGreaterThanOrEqual(1);
    expect(deadRow.lastError).toBe('ECONNREFUSED');
  });

  it('does not retry a POST: the caller gets 502 PH_DISCOVERY_UPSTREAM_FAILED', async () => {
    const dead = await upstream('dead2');
    await dead.close();
    await p.op('services.register', { name: 'gone', id: 'gone-1', address: '127.0.0.1', port: dead.port });
    const res = await p.fetch('/gw/gone/submit', {
      method: 'POST',
      key: await p.key('viewer', ['gateway']),
      body: 'x',
      headers: { 'content-type': 'text/plain' },
    });
    expect(res.status).toBe(502);
    expect(((await res.json()) as any).error.code).toBe('PH_DISCOVERY_UPSTREAM_FAILED');
  });

  it('ejects an instance answering 5xx after consecutive failures and stops sending to it', async () => {
    const bad = await upstream('bad');
    bad.status = 503;
    try {
      await p.op('services.register', { name: 'mixed', id: 'mixed-bad', address: '127.0.0.1', port: bad.port });
      await p.op('services.register', { name: 'mixed', id: 'mixed-good', address: '127.0.0.1', port: ups[1]!.port });
      await p.op('services.configure', {
        name: 'mixed',
        outlier: { consecutiveFailures: 2, baseEjectionMs: 60_000, maxEjectionShare: 0.5 },
      });
      const key = await p.key('viewer', ['gateway']);
      for (let i = 0; i < 6; i += 1) await (await p.fetch('/gw/mixed/', { key })).text();
      const hitsBefore = bad.requests.length;
      expect(hitsBefore).toBe(2);
      for (let i = 0; i < 6; i += 1) expect((await p.fetch('/gw/mixed/', { key })).status).toBe(200);
      expect(bad.requests.length).toBe(hitsBefore);
      const { body } = await p.op('services.traffic', { name: 'mixed' });
      expect(body.instances.find((r: { id: string }) => r.id === 'mixed-bad')).toMatchObject({
        ejected: true,
        ejections: 1,
        lastError: 'HTTP 503',
      });
    } finally {
      await bad.close();
    }
  });
});
