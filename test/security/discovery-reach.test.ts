import { createServer, type Server } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { CheckRunners, resolveChecks, TargetPolicy, type HostLookup } from '../../main/discovery';
import { discoveryPlane, upstream, waitFor, type DiscoveryPlane, type Upstream } from '../discovery/helpers';

/**
 * Server-side request forgery through health checks and the gateway, against a running node:
 * checks pointed at places the admin did not allow, the body of an internal page handed to
 * viewers, and the gateway's path cut so that a request reaches another port.
 */
describe('discovery.allowedTargets and what checks and the gateway may reach', () => {
  let p: DiscoveryPlane;
  let internal: Upstream;
  let operatorKey: string;
  let viewerKey: string;
  beforeAll(async () => {
    p = await discoveryPlane();
    internal = await upstream('internal');
    internal.body = 'TOPSECRET internal page';
    operatorKey = await p.key('operator');
    viewerKey = await p.key('viewer', ['gateway']);
  });
  afterAll(async () => {
    await internal.close();
    await p.stop();
  });

  it('refuses to register link-local, unspecified and multicast targets, even for an admin', async () => {
    for (const address of ['169.254.169.254', '::ffff:169.254.169.254', 'fe80::1', '0.0.0.0', '224.0.0.1']) {
      const res = await p.op('services.register', { name: 'meta', address, port: 80 });
      expect(res).toMatchObject({ status: 403, body: { error: { code: 'PH_DISCOVERY_TARGET_FORBIDDEN' } } });
    }
    const viaCheck = await p.op(
      'services.register',
      {
        name: 'meta',
        address: '127.0.0.1',
        port: internal.port,
        checks: [{ kind: 'http', url: 'http://169.254.169.254/latest/meta-data/' }],
      },
      operatorKey,
    );
    expect(viaCheck).toMatchObject({ status: 403, body: { error: { code: 'PH_DISCOVERY_TARGET_FORBIDDEN', details: { port: 80 } } } });
  });

  it("refuses the node's own HTTP port as an instance or a TCP check target", async () => {
    const own = Number(new URL(p.url).port);
    const res = await p.op('services.register', { name: 'self', address: '127.0.0.1', port: own }, operatorKey);
    expect(res).toMatchObject({ status: 403, body: { error: { code: 'PH_DISCOVERY_TARGET_FORBIDDEN' } } });
    const tcp = await p.op(
      'services.register',
      { name: 'scan', address: '127.0.0.1', port: internal.port, checks: [{ kind: 'tcp', host: '127.0.0.1', port: own }] },
      operatorKey,
    );
    expect(tcp.status).toBe(403);
  });

  it('shows viewers only status and timing of a check, operators the whole output, on the API and the event socket', async () => {
    const ws = new WebSocket(`${p.url.replace('http', 'ws')}/ws`, { headers: { authorization: `Bearer ${viewerKey}` } });
    const frames: string[] = [];
    ws.on('message', (d) => frames.push(d.toString()));
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ type: 'events', id: 1, events: ['service.registered', 'service.health'] }));
    await waitFor(() => frames.some((f) => f.includes('"reply"')));

    const reg = await p.op(
      'services.register',
      {
        name: 'leaky',
        id: 'leaky-1',
        address: '127.0.0.1',
        port: internal.port,
        checks: [{ kind: 'http', url: `${internal.url}/admin`, intervalMs: 50, failuresBeforeCritical: 1 }],
      },
      operatorKey,
    );
    expect(reg.status).toBe(200);
    await waitFor(async () => (await p.op('services.get', { id: 'leaky-1' }, operatorKey)).body.instance.state === 'passing');
    const asOperator = (await p.op('services.get', { id: 'leaky-1' }, operatorKey)).body.instance.checks[0];
    expect(asOperator.output).toContain('TOPSECRET');
    const asViewer = (await p.op('services.get', { id: 'leaky-1' }, viewerKey)).body.instance.checks[0];
    expect(asViewer.output).toMatch(/^HTTP 200 in \d+ ms$/);
    expect(JSON.stringify(asViewer)).not.toContain('TOPSECRET');
    const listed = await p.op('services.list', { name: 'leaky' }, viewerKey);
    expect(JSON.stringify(listed.body)).not.toContain('TOPSECRET');
    await waitFor(() => frames.some((f) => f.includes('service.health')));
    ws.close();
    expect(frames.join('\n')).not.toContain('TOPSECRET');
    await p.op('services.deregister', { id: 'leaky-1' }, operatorKey);
  });

  it('sends a gateway request to the path after the service segment, never to another port', async () => {
    // Old behaviour: "/gw/%67wprobe57/x" was cut by the decoded name's length, so an instance on
    // port P sent the request to port P57. Listen on such a P57 and register the service on P.
    let victim: Server | null = null;
    let hits = 0;
    let port = 0;
    for (let candidate = 100; candidate <= 654 && victim === null; candidate += 1) {
      const server = createServer((_req, res) => {
        hits += 1;
        res.end('victim');
      });
      const ok = await new Promise<boolean>((resolve) => {
        server.once('error', () => resolve(false));
        server.listen(candidate * 100 + 57, '127.0.0.1', () => resolve(true));
      });
      if (ok) {
        victim = server;
        port = candidate;
      }
    }
    expect(victim).not.toBeNull();
    try {
      await p.op('services.register', { name: 'gwprobe57', address: '127.0.0.1', port, checks: [] }, operatorKey);
      const res = await p.fetch('/gw/%67wprobe57/x', { key: viewerKey });
      expect(res.status).toBe(502);
      expect(hits).toBe(0);

      await p.op('services.register', { name: 'echo', address: '127.0.0.1', port: internal.port, checks: [] }, operatorKey);
      const before = internal.requests.length;
      const ok = await p.fetch('/gw/%65cho/a%2Fb?x=1', { key: viewerKey });
      expect(ok.status).toBe(200);
      expect(internal.requests.slice(before).map((r) => r.url)).toEqual(['/a%2Fb?x=1']);
    } finally {
      await new Promise((r) => victim?.close(r));
    }
  });
});

describe('a node whose admin narrowed discovery.allowedTargets', () => {
  let p: DiscoveryPlane;
  let internal: Upstream;
  beforeAll(async () => {
    p = await discoveryPlane({ discovery: { allowedTargets: ['10.0.0.0/8'] } });
    internal = await upstream('internal');
    internal.body = 'TOPSECRET';
  });
  afterAll(async () => {
    await internal.close();
    await p.stop();
  });

  it('refuses loopback literals at registration and keeps a check by name from connecting', async () => {
    const literal = await p.op('services.register', { name: 'x', address: '127.0.0.1', port: internal.port });
    expect(literal).toMatchObject({ status: 403, body: { error: { code: 'PH_DISCOVERY_TARGET_FORBIDDEN' } } });
    // A name is resolved when the check runs: localhost is 127.0.0.1, outside the list.
    const named = await p.op('services.register', {
      name: 'x',
      id: 'x-1',
      address: 'localhost',
      port: internal.port,
      checks: [{ kind: 'http', intervalMs: 50, failuresBeforeCritical: 1 }],
    });
    expect(named.status).toBe(200);
    const check = await waitFor(async () => {
      const c = (await p.op('services.get', { id: 'x-1' })).body.instance.checks[0];
      return c.checkedAt !== null ? c : null;
    });
    expect(check.status).toBe('critical');
    expect(check.output).toMatch(/not in discovery\.allowedTargets/);
    expect(internal.requests).toHaveLength(0);
    const gw = await p.op('keys.create', { name: 'gw', role: 'viewer', scopes: ['gateway'] });
    const res = await p.fetch('/gw/x/', { key: gw.body.secret });
    expect(internal.requests).toHaveLength(0);
    expect([403, 503]).toContain(res.status);
  });
});

describe('TargetPolicy', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => cleanups.splice(0).forEach((c) => c()));

  it('checks every address a name resolves to, and refuses the node Redis by address and by name', async () => {
    const lookup: HostLookup = async (host) =>
      host === 'split.example'
        ? [
            { address: '192.168.1.10', family: 4 },
            { address: '169.254.169.254', family: 4 },
          ]
        : [{ address: '127.0.0.1', family: 4 }];
    const policy = new TargetPolicy({
      allowed: ['127.0.0.0/8', '192.168.0.0/16'],
      ownHttpPort: () => 7420,
      redis: { host: '127.0.0.1', port: 6390 },
      lookup,
    });
    await expect(policy.resolve('split.example', 80)).rejects.toMatchObject({ code: 'PH_DISCOVERY_TARGET_FORBIDDEN' });
    await expect(policy.resolve('127.0.0.1', 6390)).rejects.toMatchObject({ code: 'PH_DISCOVERY_TARGET_FORBIDDEN' });
    await expect(policy.resolve('cache.example', 6390)).rejects.toMatchObject({ code: 'PH_DISCOVERY_TARGET_FORBIDDEN' });
    await expect(policy.resolve('127.0.0.1', 7420)).rejects.toMatchObject({ code: 'PH_DISCOVERY_TARGET_FORBIDDEN' });
    await expect(policy.resolve('127.0.0.2', 8080)).resolves.toEqual({ address: '127.0.0.2', family: 4 });
  });

  it("refuses the node's Redis Sentinels and the master they named, as it refuses the Redis URL's address", async () => {
    let connected = { host: '192.168.1.20', port: 6379 };
    const policy = new TargetPolicy({
      allowed: ['127.0.0.0/8', '192.168.0.0/16'],
      ownHttpPort: () => null,
      redis: null,
      sentinels: [
        { host: '127.0.0.1', port: 26379 },
        { host: 'localhost', port: 26380 },
      ],
      redisConnected: () => connected,
      lookup: async () => [{ address: '127.0.0.1', family: 4 }],
    });
    for (const [host, port] of [
      ['127.0.0.1', 26379],
      ['127.0.0.1', 26380],
      ['192.168.1.20', 6379],
    ] as const)
      expect(() => policy.checkLiteral(host, port), `${host}:${port}`).toThrow(/this node's Redis/);
    await expect(policy.resolve('sentinel.example', 26379)).rejects.toMatchObject({ code: 'PH_DISCOVERY_TARGET_FORBIDDEN' });
    // After a failover the master is another host: that one is refused, the old one is a machine like any other.
    connected = { host: '192.168.1.21', port: 6379 };
    expect(() => policy.checkLiteral('192.168.1.21', 6379)).toThrow(/this node's Redis/);
    expect(() => policy.checkLiteral('192.168.1.20', 6379)).not.toThrow();
    await expect(policy.resolve('127.0.0.2', 8080)).resolves.toEqual({ address: '127.0.0.2', family: 4 });
  });

  it('connects a check to the address it checked: a name that rebinds after the check is not asked again', async () => {
    const target = await upstream('pinned');
    cleanups.push(() => void target.close());
    let lookups = 0;
    // A rebinding DNS server: the first answer is allowed, every later one points at the metadata service.
    const lookup: HostLookup = async () => {
      lookups += 1;
      return [{ address: lookups === 1 ? '127.0.0.1' : '169.254.169.254', family: 4 }];
    };
    const runners = new CheckRunners(new TargetPolicy({ allowed: ['127.0.0.0/8'], ownHttpPort: () => null, redis: null, lookup }));
    cleanups.push(() => runners.close());
    const [check] = resolveChecks([{ kind: 'http', url: `http://rebind.example:${target.port}/health`, timeoutMs: 1000 }], {
      address: 'rebind.example',
      port: target.port,
    });
    const first = await runners.run(check!);
    expect(first.status).toBe('passing');
    expect(lookups).toBe(1);
    expect(target.requests[0]?.headers.host).toBe(`rebind.example:${target.port}`);
    const second = await runners.run(check!);
    expect(second.status).toBe('critical');
    expect(second.output).toMatch(/never reached/);
    expect(target.requests).toHaveLength(1);
  });
});
