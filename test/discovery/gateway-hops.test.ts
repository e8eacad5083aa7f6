import { request, type IncomingHttpHeaders } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoveryPlane, upstream, type DiscoveryPlane, type Upstream } from './helpers';

/** A request through node:http, which sends any header and any path as written (fetch drops hop-by-hop headers). */
function raw(
  url: string,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    // Host and port apart, never a URL string: a URL would resolve the `..` segments away.
    const { hostname, port } = new URL(url);
    const req = request({ hostname, port, path, headers, agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('gateway: hop-by-hop headers and refused paths', () => {
  let p: DiscoveryPlane;
  let up: Upstream;
  let key: string;

  beforeAll(async () => {
    p = await discoveryPlane();
    up = await upstream('web');
    expect((await p.op('services.register', { name: 'web', id: 'web-1', address: '127.0.0.1', port: up.port })).status).toBe(200);
    await p.op('services.configure', { name: 'web', outlier: { consecutiveFailures: 2, baseEjectionMs: 60_000, maxEjectionShare: 1 } });
    key = await p.key('viewer', ['gateway:web']);
  });
  afterAll(async () => {
    await p.stop();
    await up.close();
  });

  const instance = async (): Promise<{ errors: number; inFlight: number; ejected: boolean; requests: number }> => {
    const { body } = await p.op('services.traffic', { name: 'web' });
    return body.instances.find((r: { id: string }) => r.id === 'web-1');
  };

  it('forwards a request carrying Keep-Alive, Upgrade, TE and Proxy-Authorization without them, and never blames the instance', async () => {
    const clientHeaders: Record<string, string>[] = [
      { 'keep-alive': 'timeout=5' },
      { upgrade: 'h2c' },
      { te: 'gzip' },
      { 'proxy-authorization': 'Basic cHJveHk6c2VjcmV0' },
      { connection: 'x-hop', 'x-hop': 'private to this hop' },
    ];
    for (const extra of clientHeaders) {
      const res = await raw(p.url, '/gw/web/page', { authorization: `Bearer ${key}`, ...extra });
      expect(res.status, JSON.stringify(extra)).toBe(200);
      const seen = up.requests.at(-1)?.headers ?? {};
      for (const name of Object.keys(extra)) if (name !== 'connection') expect(seen[name], name).toBeUndefined();
    }
    expect(await instance()).toMatchObject({ errors: 0, inFlight: 0, ejected: false });
  });

  it("does not pass the upstream's own Keep-Alive or Connection header to the caller", async () => {
    const res = await raw(p.url, '/gw/web/page', { authorization: `Bearer ${key}`, connection: 'close' });
    expect(res.status).toBe(200);
    expect(res.headers['keep-alive']).toBeUndefined();
    expect(res.headers.connection).toBe('close');
  });

  it('ends the request of a caller that went away before the answer, without blaming the instance', async () => {
    up.delayMs = 400;
    try {
      const { hostname, port } = new URL(p.url);
      await new Promise<void>((resolve) => {
        const req = request({ hostname, port, path: '/gw/web/slow', headers: { authorization: `Bearer ${key}` }, agent: false });
        req.on('error', () => resolve());
        req.end();
        setTimeout(() => req.destroy(), 100);
      });
      await new Promise((r) => setTimeout(r, 800));
      expect(up.requests.some((r) => r.url === '/slow')).toBe(true);
      expect(await instance()).toMatchObject({ inFlight: 0, errors: 0, ejected: false });
    } finally {
      up.delayMs = 0;
    }
  });

  it('refuses a path with a ".." segment or a bad escape before picking an instance, and leaves nothing in flight', async () => {
    const before = await instance();
    for (const path of ['/gw/web/a/../x', '/gw/web/a/%2e%2e/x', '/gw/web/x?next=/../y', '/gw/web/%zz']) {
      const res = await raw(p.url, path, { authorization: `Bearer ${key}` });
      expect(res.status, path).toBe(400);
      expect(JSON.parse(res.body).error.code, path).toBe('PH_INVALID_INPUT');
    }
    const after = await instance();
    expect(after).toMatchObject({ inFlight: 0, errors: 0, ejected: false });
    expect(after.requests).toBe(before.requests);
    expect(up.requests.some((r) => r.url.includes('..'))).toBe(false);
  });
});
