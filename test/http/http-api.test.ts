import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';

async function get(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers });
  const text = await res.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* plain text (metrics) */
  }
  return { status: res.status, headers: res.headers, body };
}

function rawPost(url: string, headers: Record<string, string>, body: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers }, (res) => {
      let data = '';
      res.on('data', (c) => (data += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(data) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('embedded HTTP API', () => {
  let t: TestPlane;
  let viewerKey: string;
  let operatorKey: string;

  beforeAll(async () => {
    t = await startTestPlane();
    viewerKey = (await t.op('keys.create', { name: 'viewer', role: 'viewer' })).body.secret;
    operatorKey = (await t.op('keys.create', { name: 'operator', role: 'operator' })).body.secret;
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('answers /healthz and /readyz without a key', async () => {
    expect((await get(`${t.url}/healthz`)).status).toBe(200);
    const ready = await get(`${t.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(ready.body.services.map((s: { name: string }) => s.name)).toEqual(expect.arrayContaining(['store', 'http']));
  });

  it('tells a caller without a key the state of each service, never a path or an id; a key holder gets the detail', async () => {
    const open = await get(`${t.url}/readyz`);
    const text = JSON.stringify(open.body);
    expect(text).not.toContain(t.dataDir);
    expect(open.body.services.every((s: object) => !('detail' in s))).toBe(true);
    expect(open.body.dependencies.every((d: { detail: string }) => d.detail === '')).toBe(true);
    const keyed = await get(`${t.url}/readyz`, { authorization: `Bearer ${t.adminKey}` });
    expect(keyed.status).toBe(200);
    expect(keyed.body.services.find((s: { name: string }) => s.name === 'store').detail).toContain(t.dataDir);
    const wrong = await get(`${t.url}/readyz`, { authorization: `Bearer ph_${'0'.repeat(16)}_${'A'.repeat(43)}` });
    expect(wrong.status).toBe(401);
  });

  it('answers 401 PH_UNAUTHENTICATED to an operation without a key, or with a wrong one', async () => {
    const none = await t.op('system.status', {}, null);
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('PH_UNAUTHENTICATED');
    const wrong = await t.op('system.status', {}, 'ph_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
    expect(wrong.status).toBe(401);
  });

  it('lets a viewer read status but answers 403 PH_FORBIDDEN to creating a key', async () => {
    expect((await t.op('system.status', {}, viewerKey)).status).toBe(200);
    const denied = await t.op('keys.create', { name: 'x', role: 'admin' }, viewerKey);
    expect(denied.status).toBe(403);
    expect(denied.body.error.code).toBe('PH_FORBIDDEN');
  });

  it('answers 4xx with a code, never 5xx, to malformed, invalid, oversized and mistyped bodies', async () => {
    const auth = { authorization: `Bearer ${t.adminKey}` };
    const malformed = await rawPost(`${t.url}/api/v2/ops/keys.create`, { ...auth, 'content-type': 'application/json' }, '{"name":');
    expect(malformed).toMatchObject({ status: 400, body: { error: { code: 'PH_MALFORMED_BODY' } } });
    const invalid = await t.op('keys.create', { name: 'x', role: 'superuser' });
    expect(invalid).toMatchObject({ status: 400, body: { error: { code: 'PH_INVALID_INPUT', field: 'role' } } });
    const blank = await t.op('keys.create', { name: '   ', role: 'viewer' });
    expect(blank).toMatchObject({ status: 400, body: { error: { code: 'PH_INVALID_INPUT', field: 'name' } } });
    const huge = await rawPost(
      `${t.url}/api/v2/ops/keys.create`,
      { ...auth, 'content-type': 'application/json' },
      JSON.stringify({ name: 'x'.repeat(2_000_000) }),
    );
    expect(huge).toMatchObject({ status: 413, body: { error: { code: 'PH_PAYLOAD_TOO_LARGE' } } });
    const xml = await rawPost(`${t.url}/api/v2/ops/keys.create`, { ...auth, 'content-type': 'application/xml' }, '<key/>');
    expect(xml).toMatchObject({ status: 415, body: { error: { code: 'PH_UNSUPPORTED_MEDIA_TYPE' } } });
    const text = await rawPost(`${t.url}/api/v2/ops/keys.create`, { ...auth, 'content-type': 'text/plain' }, '{"name":"x"}');
    expect(text).toMatchObject({ status: 415, body: { error: { code: 'PH_UNSUPPORTED_MEDIA_TYPE' } } });
    const empty = await rawPost(`${t.url}/api/v2/ops/system.status`, auth, '');
    expect(empty.status).toBe(200);
  });

  it('says in words what a pattern or a choice of shapes wants, not the rule the checker quotes', async () => {
    const name = await t.op('services.register', { name: 'Bad Name!', address: '127.0.0.1', port: 9 });
    expect(name.body.error).toMatchObject({ code: 'PH_INVALID_INPUT', field: 'name' });
    expect(name.body.error.message).toBe("Field \"name\": must be 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit");
    const limit = await t.op('ratelimit.tiers.save', { tier: { name: 'typo', limit: 'ten', windowSeconds: 60, burst: 0 } });
    expect(limit.body.error.message).toBe(
      'Field "tier.limit": must be a whole number of requests per window from 1 to 10,000,000, or null for no limit',
    );
    // A bound the checker states plainly stays in its words.
    const port = await t.op('services.register', { name: 'ok', address: '127.0.0.1', port: 70_000 });
    expect(port.body.error.message).toMatch(/^Field "port": Expected integer to be less or equal to 65535/);
  });

  it('answers 404 PH_UNKNOWN_OPERATION for an operation that does not exist', async () => {
    const res = await t.op('system.reboot');
    expect(res).toMatchObject({ status: 404, body: { error: { code: 'PH_UNKNOWN_OPERATION' } } });
  });

  it('audits mutating calls with who, what, target and outcome, failures included', async () => {
    await t.op('keys.revoke', { id: 'ffffffffffffffff' });
    const { body } = await t.op('audit.list', { limit: 5 });
    expect(body.chainIntact).toBe(true);
    expect(body.entries[0]).toMatchObject({
      action: 'keys.revoke',
      target: 'ffffffffffffffff',
      outcome: 'error',
      detail: 'PH_KEY_NOT_FOUND',
    });
    expect(body.entries[0].actor).toMatch(/^key:[0-9a-f]{16}$/);
    expect(body.entries.some((e: { action: string; target: string }) => e.action === 'keys.create' && e.target === 'operator')).toBe(true);
  });

  it('negotiates the API version from the URL, the API-Version header or ?api-version=', async () => {
    const auth = { authorization: `Bearer ${t.adminKey}` };
    const v1 = await get(`${t.url}/api/v1/status`, auth);
    expect(v1.status).toBe(200);
    expect(v1.body.services).toMatchObject({ store: 'running', http: 'running' });
    expect(v1.headers.get('deprecation')).toMatch(/^@\d+$/);
    expect(new Date(v1.headers.get('sunset') ?? '').getTime()).toBeGreaterThan(Date.now());
    const v2 = await get(`${t.url}/api/v2/status`, auth);
    expect(Array.isArray(v2.body.services)).toBe(true);
    expect(v2.headers.get('deprecation')).toBeNull();
    expect((await get(`${t.url}/api/status`, { ...auth, 'api-version': '1' })).body.services).toMatchObject({
      store: 'running',
      http: 'running',
    });
    expect(Array.isArray((await get(`${t.url}/api/status?api-version=v2`, auth)).body.services)).toBe(true);
    expect(Array.isArray((await get(`${t.url}/api/status`, auth)).body.services)).toBe(true);
  });

  it('answers 400 with the supported list to an unknown or contradictory version', async () => {
    const auth = { authorization: `Bearer ${t.adminKey}` };
    for (const res of [
      await get(`${t.url}/api/v7/status`, auth),
      await get(`${t.url}/api/status`, { ...auth, 'api-version': '3' }),
      await get(`${t.url}/api/status?api-version=beta`, auth),
      await get(`${t.url}/api/v2/status`, { ...auth, 'api-version': 'v1' }),
    ]) {
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('PH_UNSUPPORTED_API_VERSION');
      expect(res.body.error.details.supported).toEqual(['v1', 'v2']);
    }
  });

  it('serves Prometheus metrics to key holders, with request durations by route and status', async () => {
    expect((await get(`${t.url}/metrics`)).status).toBe(401);
    const res = await get(`${t.url}/metrics`, { authorization: `Bearer ${viewerKey}` });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    expect(res.body).toContain('pilothouse_process_cpu_seconds_total');
    expect(res.body).toMatch(
      /pilothouse_http_request_duration_seconds_count\{method="POST",route="\/api\/v2\/ops\/system.status",status_code="200"\} \d+/,
    );
    expect(res.body).toMatch(/pilothouse_operations_total\{operation="keys.create",outcome="ok"\} \d+/);
  });

  it('mints a session token from a key, which works for operations but cannot mint another', async () => {
    const minted = await rawPost(`${t.url}/api/v2/session`, { authorization: `Bearer ${operatorKey}` }, '');
    expect(minted.status).toBe(200);
    expect(minted.body.role).toBe('operator');
    const status = await t.op('system.status', {}, minted.body.token);
    expect(status.status).toBe(200);
    const again = await rawPost(`${t.url}/api/v2/session`, { authorization: `Bearer ${minted.body.token}` }, '');
    expect(again.status).toBe(401);
  });

  it('describes every operation in the OpenAPI document at /api/docs', async () => {
    const doc = await get(`${t.url}/api/docs/json`);
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toMatch(/^3\./);
    for (const name of ['system.status', 'system.config', 'audit.list', 'keys.list', 'keys.create', 'keys.revoke']) {
      expect(doc.body.paths[`/api/v2/ops/${name}`]?.post).toBeDefined();
    }
    expect(doc.body.paths['/api/v1/status']).toBeDefined();
    expect((await get(`${t.url}/api/docs`)).status).toBe(200);
  });

  it('answers PH_NOT_FOUND in the catalogue shape for unknown paths', async () => {
    const res = await get(`${t.url}/api/v2/nothing-here`, { authorization: `Bearer ${t.adminKey}` });
    expect(res).toMatchObject({ status: 404, body: { error: { code: 'PH_NOT_FOUND' } } });
  });

  describe('event socket at /ws', () => {
    const collect = (ws: WebSocket) => {
      const frames: any[] = [];
      ws.on('message', (data) => frames.push(JSON.parse(data.toString())));
      return frames;
    };
    const waitFor = async (frames: any[], predicate: (f: any) => boolean, ms = 5000) => {
      const deadline = Date.now() + ms;
      while (Date.now() < deadline) {
        const hit = frames.find(predicate);
        if (hit !== undefined) return hit;
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error(`no matching frame in ${JSON.stringify(frames)}`);
    };
    const wsUrl = () => `${t.url.replace('http', 'ws')}/ws`;

    it('streams audit events to an operator authenticated by header, but not to a viewer', async () => {
      const operator = new WebSocket(wsUrl(), { headers: { authorization: `Bearer ${operatorKey}` } });
      const viewer = new WebSocket(wsUrl(), { headers: { authorization: `Bearer ${viewerKey}` } });
      const opFrames = collect(operator);
      const viewerFrames = collect(viewer);
      await waitFor(opFrames, (f) => f.type === 'welcome');
      await waitFor(viewerFrames, (f) => f.type === 'welcome');
      operator.send(JSON.stringify({ type: 'events', id: 'follow' }));
      viewer.send(JSON.stringify({ type: 'events', id: 'follow' }));
      await waitFor(opFrames, (f) => f.type === 'reply' && f.id === 'follow');
      await waitFor(viewerFrames, (f) => f.type === 'reply' && f.id === 'follow');
      await t.op('keys.create', { name: 'ws-watch', role: 'viewer' });
      const event = await waitFor(opFrames, (f) => f.type === 'event' && f.event === 'audit.appended');
      expect(event.payload).toMatchObject({ action: 'keys.create', target: 'ws-watch', outcome: 'ok' });
      // Frames on one socket stay in order: once the viewer's pong is back, any event sent before it has arrived.
      viewer.send(JSON.stringify({ type: 'ping', id: 1 }));
      await waitFor(viewerFrames, (f) => f.type === 'pong');
      expect(viewerFrames.some((f) => f.event === 'audit.appended')).toBe(false);
      operator.close();
      viewer.close();
    });

    it('accepts a session token in a first auth frame, as browsers send it', async () => {
      const minted = await rawPost(`${t.url}/api/v2/session`, { authorization: `Bearer ${operatorKey}` }, '');
      const ws = new WebSocket(wsUrl());
      const frames = collect(ws);
      await new Promise((r) => ws.once('open', r));
      ws.send(JSON.stringify({ type: 'auth', token: minted.body.token }));
      expect(await waitFor(frames, (f) => f.type === 'welcome')).toMatchObject({ role: 'operator' });
      ws.send(JSON.stringify({ type: 'ping', id: 7 }));
      expect(await waitFor(frames, (f) => f.type === 'pong')).toEqual({ type: 'pong', id: 7 });
      ws.close();
    });

    it('closes with a coded error frame for a bad credential', async () => {
      const ws = new WebSocket(wsUrl());
      const frames = collect(ws);
      await new Promise((r) => ws.once('open', r));
      ws.send(JSON.stringify({ type: 'auth', token: 'not-a-token' }));
      const code = await new Promise<number>((r) => ws.once('close', (c) => r(c)));
      expect(code).toBe(1008);
      expect(frames[0]).toMatchObject({ type: 'error', error: { code: 'PH_UNAUTHENTICATED' } });
    });
  });
});
