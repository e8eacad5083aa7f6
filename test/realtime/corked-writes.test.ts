import { createServer, connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { CorkedWrites } from '../../main/realtime/corked-writes';

/** A real loopback TCP pair: the server side is written to, the client side counts what arrives. */
async function socketPair(): Promise<{ server: Socket; chunks: Buffer[]; close: () => void }> {
  const listener = createServer();
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
  const port = (listener.address() as { port: number }).port;
  const accepted = new Promise<Socket>((r) => listener.once('connection', r));
  const client = connect(port, '127.0.0.1');
  client.setNoDelay(true);
  const chunks: Buffer[] = [];
  client.on('data', (chunk: Buffer) => chunks.push(chunk));
  const server = await accepted;
  server.setNoDelay(true);
  return {
    server,
    chunks,
    close: () => {
      client.destroy();
      server.destroy();
      listener.close();
    },
  };
}

const settle = () => new Promise((r) => setTimeout(r, 50));

describe('CorkedWrites', () => {
  let close = () => undefined as void;
  afterEach(() => close());

  it("hands a turn's writes to the kernel together, after the turn", async () => {
    const pair = await socketPair();
    close = pair.close;
    const writes = new CorkedWrites();
    for (let i = 0; i < 20; i += 1) {
      writes.hold(pair.server);
      pair.server.write(`frame ${i};`);
    }
    expect(pair.server.writableLength).toBeGreaterThan(0);
    await settle();
    expect(Buffer.concat(pair.chunks).toString()).toBe(Array.from({ length: 20 }, (_, i) => `frame ${i};`).join(''));
    expect(pair.chunks.length).toBe(1);
  });

  it('sends at once what flush() releases, without waiting for the turn to end', async () => {
    const pair = await socketPair();
    close = pair.close;
    const writes = new CorkedWrites();
    writes.hold(pair.server);
    pair.server.write('early');
    writes.flush(pair.server);
    expect(pair.server.writableLength).toBe(0);
    writes.hold(pair.server);
    pair.server.write('late');
    await settle();
    expect(Buffer.concat(pair.chunks).toString()).toBe('earlylate');
  });
});
