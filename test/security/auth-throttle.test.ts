import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultConfig, type Config } from '../../main/config';
import { ControlPlane } from '../../main/control-plane';
import { tempDir } from '../helpers/temp-dir';

const WRONG_KEY = `ph_${'0'.repeat(16)}_${'A'.repeat(43)}`;

/** What a client at `localAddress` (any of 127/8) sees for a WebSocket upgrade with this credential. */
function upgrade(wsUrl: string, token: string, localAddress: string): Promise<{ status: number; retryAfter?: string; closeCode?: number }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(wsUrl, { headers: { authorization: `Bearer ${token}` }, localAddress });
    ws.on('error', () => undefined);
    ws.on('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] as string | undefined });
      res.resume();
      ws.terminate();
    });
    ws.on('close', (code) => resolve({ status: 101, closeCode: code }));
  });
}

describe('failed authentication is throttled per client address', () => {
  const dir = tempDir('ph-throttle-');
  const logged: Record<string, unknown>[] = [];
  let offset = 0;
  let plane: ControlPlane;
  let url: string;
  let adminKey: string;
  const call = (key: string) =>
    fetch(`${url}/api/v2/ops/system.status`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: '{}',
    });

  beforeAll(async () => {
    const config: Config = { ...defaultConfig(dir.path), port: 0, logLevel: 'warn' };
    const logger = pino({ level: 'warn' }, { write: (line: string) => void logged.push(JSON.parse(line) as Record<string, unknown>) });
    plane = new ControlPlane({ config, sources: ['test'] }, { mode: 'headless', logger, clock: { now: () => Date.now() + offset } });
    await plane.start();
    url = plane.url;
    adminKey = readFileSync(join(dir.path, 'admin.key'), 'utf8').trim();
  });
  afterAll(async () => {
    await plane?.stop();
    dir.remove();
  });

  it('answers 429 PH_AUTH_THROTTLED with Retry-After after ten failures in a minute, even to the right key, on HTTP and /ws', async () => {
    for (let i = 0; i < 10; i += 1) expect((await call(`${WRONG_KEY.slice(0, -2)}${i}x`)).status).toBe(401);
    const blocked = await call(adminKey);
    expect(blocked.status).toBe(429);
    expect(blocked.headers.get('retry-after')).toBe('60');
    expect(((await blocked.json()) as { error: { code: string } }).error.code).toBe('PH_AUTH_THROTTLED');
    expect(await upgrade(`${url.replace('http', 'ws')}/ws`, adminKey, '127.0.0.1')).toEqual({ status: 429, retryAfter: '60' });

    const failures = logged.filter((l) => l.msg === 'authentication failed');
    expect(failures).toHaveLength(10);
    expect(failures[0]).toMatchObject({ level: 40, address: '127.0.0.1', transport: 'http' });
    expect(JSON.stringify(logged)).not.toContain(WRONG_KEY.slice(20, 40));
    const audit = plane.running.audit.list({ limit: 50 }).entries.filter((e) => e.action === 'auth.throttled');
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor: 'address:127.0.0.1', outcome: 'error' });
  });

  it('lifts the block after Retry-After, counts failures in /metrics, and doubles the next block', async () => {
    offset += 61_000;
    const metrics = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${adminKey}` } });
    expect(metrics.status).toBe(200);
    const text = await metrics.text();
    expect(text).toMatch(/pilothouse_auth_failures_total\{transport="http"\} 10/);
    expect(text).toMatch(/pilothouse_auth_throttled_total\{transport="http"\} 1/);
    expect(text).toMatch(/pilothouse_auth_throttled_total\{transport="ws"\} 1/);

    for (let i = 0; i < 10; i += 1) expect((await call(WRONG_KEY)).status).toBe(401);
    const again = await call(adminKey);
    expect(again.status).toBe(429);
    expect(again.headers.get('retry-after')).toBe('120');
    offset += 121_000;
    expect((await call(adminKey)).status).toBe(200);
  });

  it('counts /ws authentication failures and blocks only the address that failed', async () => {
    const wsUrl = `${url.replace('http', 'ws')}/ws`;
    for (let i = 0; i < 10; i += 1) expect(await upgrade(wsUrl, WRONG_KEY, '127.0.0.2')).toEqual({ status: 101, closeCode: 1008 });
    expect(await upgrade(wsUrl, adminKey, '127.0.0.2')).toEqual({ status: 429, retryAfter: '60' });
    expect((await call(adminKey)).status).toBe(200);
    expect(logged.filter((l) => l.msg === 'authentication failed' && l.address === '127.0.0.2' && l.transport === 'ws')).toHaveLength(10);
  });
});
