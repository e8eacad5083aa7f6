import { request } from 'node:http';
import { hostname, networkInterfaces } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { BrowserGuard } from '../../main/http';
import { upstream } from '../discovery/helpers';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';

interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A request with the headers a browser would send, Host included (fetch does not let a test set it). */
function raw(url: string, path: string, headers: Record<string, string>, method = 'GET', body?: string): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Opens /ws with the given headers; resolves with the upgrade's answer status (101 when accepted). */
function upgrade(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${url.replace('http', 'ws')}/ws`, { headers });
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('error', () => undefined);
  });
}

/**
 * What a web page in the operator's browser could do to the node: read it after DNS rebinding
 * (a name the attacker controls, re-pointed at 127.0.0.1), call its API or open its socket from
 * another origin, or frame the console. Each is refused by the real server.
 */
describe('browser-borne attacks on the embedded server', () => {
  let t: TestPlane;
  let port: string;
  beforeAll(async () => {
    t = await startTestPlane({ publicNames: ['pilothouse.lan'] });
    port = new URL(t.url).port;
  });
  afterAll(async () => t.stop());

  it('answers a rebinding Host with 421 PH_MISDIRECTED, on /readyz and on authenticated routes alike', async () => {
    for (const path of ['/readyz', '/healthz', '/api/v2/status', '/']) {
      const res = await raw(t.url, path, { host: `attacker.example:${port}`, authorization: `Bearer ${t.adminKey}` });
      expect(res.status).toBe(421);
      expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'PH_MISDIRECTED' } });
      expect(res.body).not.toContain(t.dataDir);
    }
    const op = await raw(
      t.url,
      '/api/v2/ops/keys.list',
      {
        host: 'attacker.example',
        authorization: `Bearer ${t.adminKey}`,
        'content-type': 'application/json',
      },
      'POST',
      '{}',
    );
    expect(op.status).toBe(421);
  });

  it('answers loopback names, the bound address and the configured public names', async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST.:${port}`, `pilothouse.lan:${port}`, `[::1]:${port}`]) {
      expect((await raw(t.url, '/readyz', { host })).status, host).toBe(200);
    }
  });

  it('on the LAN also answers to the machine name, its mDNS name and its interface addresses, never to another name', () => {
    const guard = new BrowserGuard({ bindHost: '0.0.0.0', publicNames: [], secure: true });
    expect(guard.hostAllowed(`${hostname()}:7420`)).toBe(true);
    expect(guard.hostAllowed(`${hostname()}.local:7420`)).toBe(true);
    const address = Object.values(networkInterfaces())
      .flat()
      .find((entry) => entry !== undefined && entry.family === 'IPv4')?.address;
    expect(guard.hostAllowed(`${address}:7420`)).toBe(true);
    expect(guard.hostAllowed('attacker.example:7420')).toBe(false);
    expect(guard.hostAllowed(`${hostname()}.attacker.example`)).toBe(false);
    expect(guard.hostAllowed('203.0.113.9:7420')).toBe(false);
    const loopbackOnly = new BrowserGuard({ bindHost: '127.0.0.1', publicNames: [], secure: false });
    expect(loopbackOnly.hostAllowed(`${hostname()}.local`)).toBe(false);
  });

  it('refuses API calls from another origin, and accepts same-origin and Origin-less ones', async () => {
    const call = (origin?: string) =>
      raw(
        t.url,
        '/api/v2/ops/system.status',
        {
          host: `127.0.0.1:${port}`,
          authorization: `Bearer ${t.adminKey}`,
          'content-type': 'application/json',
          ...(origin === undefined ? {} : { origin }),
        },
        'POST',
        '{}',
      );
    const foreign = await call('http://attacker.example');
    expect(foreign.status).toBe(403);
    expect(JSON.parse(foreign.body)).toMatchObject({ error: { code: 'PH_ORIGIN_FORBIDDEN' } });
    expect((await call('null')).status).toBe(403);
    expect((await call(`http://127.0.0.1:${Number(port) + 1}`)).status).toBe(403);
    expect((await call(`https://127.0.0.1:${port}`)).status).toBe(403);
    expect((await call(`http://127.0.0.1:${port}`)).status).toBe(200);
    expect((await call()).status).toBe(200);
  });

  it('refuses /ws upgrades from another origin or with a rebinding Host before any credential is looked at', async () => {
    const auth = { authorization: `Bearer ${t.adminKey}` };
    expect(await upgrade(t.url, { ...auth, origin: 'http://attacker.example' })).toBe(403);
    expect(await upgrade(t.url, { ...auth, host: `attacker.example:${port}` })).toBe(421);
    expect(await upgrade(t.url, { ...auth, origin: `http://127.0.0.1:${port}` })).toBe(101);
    expect(await upgrade(t.url, auth)).toBe(101);
  });

  it("sandboxes pages the gateway serves from an upstream, so their script never shares the console's origin", async () => {
    const up = await upstream('web-ui');
    try {
      up.body = '<script>fetch("/api/v2/ops/keys.list")</script>';
      await t.op('services.register', { name: 'webui', address: '127.0.0.1', port: up.port, checks: [] });
      const res = await raw(t.url, '/gw/webui/', { host: `127.0.0.1:${port}`, authorization: `Bearer ${t.adminKey}` });
      expect(res.status).toBe(200);
      const csp = [res.headers['content-security-policy']].flat().join(', ');
      expect(csp).toMatch(/(^|, )sandbox allow-scripts/);
      expect(csp).not.toContain('allow-same-origin');
      expect(res.headers['x-frame-options']).toBe('DENY');
    } finally {
      await up.close();
    }
  });

  it('serves the console and the API with a CSP that forbids framing, X-Frame-Options DENY and no Referer', async () => {
    for (const path of ['/', '/api/v2/status', '/nothing-here']) {
      const res = await raw(t.url, path, { host: `127.0.0.1:${port}`, authorization: `Bearer ${t.adminKey}` });
      expect(res.headers['x-frame-options'], path).toBe('DENY');
      expect(res.headers['referrer-policy'], path).toBe('no-referrer');
      expect(res.headers['x-content-type-options'], path).toBe('nosniff');
      const csp = String(res.headers['content-security-policy']);
      expect(csp, path).toContain("frame-ancestors 'none'");
      expect(csp, path).toContain("connect-src 'self'");
      expect(csp, path).not.toContain('unsafe-inline');
    }
  });
});
