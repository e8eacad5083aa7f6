import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';

const IDLE_MS = 600;

/**
 * Opens a raw socket, sends the headers of a POST announcing 100 body bytes (or a chunked body) and
 * one byte of it, then stalls.
 */
function stalledPost(
  url: string,
  path: string,
  key: string | null,
  framing: 'length' | 'chunked' = 'length',
): { socket: Socket; answer: Promise<{ text: string; closedAfterMs: number }> } {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  const started = performance.now();
  let text = '';
  socket.on('data', (d) => (text += d.toString()));
  const answer = new Promise<{ text: string; closedAfterMs: number }>((resolve) => {
    socket.on('close', () => resolve({ text, closedAfterMs: performance.now() - started }));
  });
  socket.write(
    [`POST ${path} HTTP/1.1`, `Host: ${hostname}:${port}`, 'Content-Type: application/json']
      .concat(framing === 'length' ? ['Content-Length: 100'] : ['Transfer-Encoding: chunked'])
      .concat(key === null ? [] : [`Authorization: Bearer ${key}`])
      .join('\r\n') + (framing === 'length' ? '\r\n\r\n{' : '\r\n\r\n1\r\n{\r\n'),
  );
  return { socket, answer };
}

describe('request bodies that stop arriving', () => {
  let t: TestPlane;
  beforeAll(async () => {
    t = await startTestPlane({ bodyIdleTimeoutMs: IDLE_MS });
  });
  afterAll(async () => t.stop());

  it('answers 408 PH_REQUEST_TIMEOUT and closes the socket once the body has been idle for the limit', async () => {
    const { answer } = stalledPost(t.url, '/api/v2/ops/keys.list', t.adminKey);
    const { text, closedAfterMs } = await answer;
    expect(text).toMatch(/^HTTP\/1\.1 408/);
    expect(text).toContain('"code":"PH_REQUEST_TIMEOUT"');
    expect(closedAfterMs).toBeGreaterThanOrEqual(IDLE_MS - 50);
    expect(closedAfterMs).toBeLessThan(IDLE_MS + 5_000);
  });

  it('times a chunked body too: a request without Content-Length is timed when Transfer-Encoding announces a body', async () => {
    const { answer } = stalledPost(t.url, '/api/v2/ops/keys.list', t.adminKey, 'chunked');
    const { text, closedAfterMs } = await answer;
    expect(text).toMatch(/^HTTP\/1\.1 408/);
    expect(text).toContain('"code":"PH_REQUEST_TIMEOUT"');
    expect(closedAfterMs).toBeGreaterThanOrEqual(IDLE_MS - 50);
  });

  it('does not hold a socket trickling a body without a key either', async () => {
    const { answer } = stalledPost(t.url, '/api/v2/ops/keys.list', null);
    const { text, closedAfterMs } = await answer;
    expect(text).toMatch(/^HTTP\/1\.1 401/);
    expect(closedAfterMs).toBeLessThan(IDLE_MS + 5_000);
  });

  it('lets a body that keeps arriving, slower than the limit in total, through', async () => {
    const body = JSON.stringify({ name: 'slow-but-steady', role: 'viewer' });
    const { hostname, port } = new URL(t.url);
    const socket = connect(Number(port), hostname);
    let text = '';
    socket.on('data', (d) => (text += d.toString()));
    const closed = new Promise((r) => socket.on('close', r));
    socket.write(
      `POST /api/v2/ops/keys.create HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: application/json\r\nConnection: close\r\nAuthorization: Bearer ${t.adminKey}\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    const parts = body.match(/.{1,12}/g) as string[];
    for (const part of parts) {
      socket.write(part);
      await new Promise((r) => setTimeout(r, IDLE_MS / 3));
    }
    await closed;
    expect(parts.length * (IDLE_MS / 3)).toBeGreaterThan(IDLE_MS);
    expect(text).toMatch(/^HTTP\/1\.1 200/);
  });
});
