import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly status: number;
}

export interface Receiver {
  readonly url: string;
  readonly port: number;
  readonly received: Received[];
  /** What the next requests are answered with (status, optional body, optional delay). */
  answer: (r: { headers: IncomingHttpHeaders; body: string }) => {
    status: number;
    body?: string;
    delayMs?: number;
    headers?: Record<string, string>;
  };
  /** Stops listening (connections are refused) until `up()`. */
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

/** A real HTTP server on 127.0.0.1 standing in for an integration that receives webhooks. */
export async function startReceiver(port = 0): Promise<Receiver> {
  let server: Server | null = null;
  const receiver: Receiver = {
    url: '',
    port: 0,
    received: [],
    answer: () => ({ status: 204 }),
    async down() {
      const s = server;
      server = null;
      if (s === null) return;
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    },
    async up() {
      server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          const reply = receiver.answer({ headers: req.headers, body });
          receiver.received.push({ headers: req.headers, body, status: reply.status });
          setTimeout(() => {
            if (res.destroyed) return;
            res.writeHead(reply.status, reply.headers);
            res.end(reply.body ?? '');
          }, reply.delayMs ?? 0);
        });
      });
      const s = server;
      await new Promise<void>((resolve) => s.listen(receiver.port, '127.0.0.1', resolve));
      Object.assign(receiver, { port: (s.address() as AddressInfo).port });
      Object.assign(receiver, { url: `http://127.0.0.1:${receiver.port}/hook` });
    },
    close() {
      return receiver.down();
    },
  };
  Object.assign(receiver, { port });
  await receiver.up();
  return receiver;
}

/**
 * The receiver's check, exactly as docs/webhooks.md gives it: HMAC-SHA256 over
 * "<webhook-id>.<webhook-timestamp>.<body>" with the base64 key after `whsec_`, compared in
 * constant time against each `v1,` signature of the header, timestamp within five minutes.
 */
export { verifyAsDocumented } from './verify-as-documented';
