import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson } from '../../renderer/src/client/http-call';

describe("the console's calls have a deadline and a coded error", () => {
  let server: Server;
  let base: string;
  const held: { end(): void }[] = [];

  beforeAll(async () => {
    // A real server that hangs: it takes the request and never answers (or stalls in the body).
    server = createServer((req, res) => {
      if (req.url === '/stall-body') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"partial":');
      }
      held.push(res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const res of held) res.end();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('gives up on a server that never answers with PH_CONSOLE_TIMEOUT, naming the call', async () => {
    const started = performance.now();
    await expect(postJson(`${base}/hang`, 't', {}, 'jobs.stats', 300)).rejects.toMatchObject({
      code: 'PH_CONSOLE_TIMEOUT',
      message: expect.stringContaining('jobs.stats'),
    });
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('gives up on an answer that stalls halfway through its body the same way', async () => {
    await expect(postJson(`${base}/stall-body`, 't', {}, 'cache.keys', 300)).rejects.toMatchObject({ code: 'PH_CONSOLE_TIMEOUT' });
  });

  it('says PH_UNAVAILABLE when nothing listens', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await expect(postJson(`http://127.0.0.1:${port}/x`, 't', {}, 'jobs.list', 2_000)).rejects.toMatchObject({ code: 'PH_UNAVAILABLE' });
  });
});
