import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { limitBodyIdleTime } from '../../main/http/body-timeout';
import { httpErrorOf } from '../../main/http/http-errors';

const IDLE_MS = 400;

/** Sends `head` and then each of `parts` `gapMs` apart on a raw socket; resolves with all the server said once it closes. */
function rawRequest(port: number, head: string, parts: readonly string[], gapMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.on('data', (d) => (text += d.toString()));
    socket.on('error', reject);
    socket.on('close', () => resolve(text));
    socket.write(head);
    void (async () => {
      for (const part of parts) {
        await new Promise((r) => setTimeout(r, gapMs));
        if (!socket.destroyed) socket.write(part);
      }
    })();
  });
}

/**
 * The body-idle limit on a bare Fastify server: a JSON route behind a hook that waits (as the rate
 * limit does on Redis) before the body is read, and a route that streams its body to a sink with a
 * pipeline (as the peer replica routes do).
 */
describe('the body-idle limit, on bodies parsed and on bodies streamed', () => {
  let app: FastifyInstance;
  let port: number;

  beforeAll(async () => {
    app = Fastify();
    limitBodyIdleTime(app, IDLE_MS);
    app.addHook('preParsing', (_request, _reply, payload, done) => {
      setTimeout(() => done(null, payload), 150);
    });
    app.setErrorHandler((err, request, reply) => {
      const { status, body } = httpErrorOf(err);
      if (!request.raw.complete) void reply.header('connection', 'close');
      void reply.code(status).send(body);
    });
    app.post('/json', async (request) => ({ length: JSON.stringify(request.body).length }));
    app.addContentTypeParser('application/octet-stream', (_request, payload, done) => done(null, payload));
    app.post('/stream', async (request) => {
      let bytes = 0;
      await pipeline(
        request.body as NodeJS.ReadableStream,
        new Writable({
          write(chunk: Buffer, _encoding, callback) {
            bytes += chunk.length;
            callback();
          },
        }),
      );
      return { bytes };
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as { port: number }).port;
  });
  afterAll(async () => app.close());

  it('reads every byte of a body that arrived while a hook before the parser was waiting', async () => {
    const value = 'x'.repeat(200_000);
    const body = JSON.stringify({ value });
    const head = `POST /json HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
    const parts = body.match(/[^]{1,16384}/g) as string[];
    const text = await rawRequest(port, head + (parts.shift() as string), parts, 1);
    expect(text).toMatch(/^HTTP\/1\.1 200/);
    expect(text).toContain(`{"length":${body.length}}`);
  });

  it('answers 408 PH_REQUEST_TIMEOUT and closes when a parsed body stalls', async () => {
    const head = 'POST /json HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":';
    const started = performance.now();
    const text = await rawRequest(port, head, [], 0);
    expect(text).toMatch(/^HTTP\/1\.1 408/);
    expect(text).toContain('"code":"PH_REQUEST_TIMEOUT"');
    expect(performance.now() - started).toBeGreaterThanOrEqual(IDLE_MS - 50);
  });

  it('answers 408 PH_REQUEST_TIMEOUT, not a reset, when a streamed body stalls', async () => {
    const head =
      'POST /stream HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000\r\n\r\n0123456789';
    const text = await rawRequest(port, head, [], 0);
    expect(text).toMatch(/^HTTP\/1\.1 408/);
    expect(text).toContain('"code":"PH_REQUEST_TIMEOUT"');
  });

  it('streams a body that keeps coming, slower than the limit in total, to its end', async () => {
    const parts = Array.from({ length: 6 }, (_, i) => `${i}`.repeat(100));
    const head = `POST /stream HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\nContent-Length: 600\r\nConnection: close\r\n\r\n`;
    const text = await rawRequest(port, head, parts, IDLE_MS / 3);
    expect(text).toMatch(/^HTTP\/1\.1 200/);
    expect(text).toContain('{"bytes":600}');
  });
});
