// A load generator in its own process: opens N connections of one kind, subscribes them to room
// 'bench', and records when each message arrives and its publish-to-receive latency (messages carry
// their send time `t`, from performance.timeOrigin + now(), comparable across processes).
// Every receiver parses every frame it is sent with JSON.parse, as a real client would, so the
// servers compare on equal receiving work. Slow readers ('slow' kind) read a tenth of the time and do not parse.
import { request } from 'node:http';
import type { Socket } from 'node:net';
import { io as ioClient, type Socket as IoSocket } from 'socket.io-client';
import WebSocket from 'ws';

type Command =
  | {
      cmd: 'connect';
      kind: 'ours' | 'ours-idle' | 'ws' | 'sio' | 'slow';
      url: string;
      token: string;
      count: number;
      slowBytesPerSecond?: number;
    }
  | { cmd: 'reset' }
  | { cmd: 'report' }
  | { cmd: 'close' };

const now = () => performance.timeOrigin + performance.now();
const send = (m: unknown) => process.send?.(m);
const sockets: { close(): void }[] = [];
let received = 0;
let firstAt = 0;
let lastAt = 0;
let latencies: number[] = [];
const MAX_SAMPLES = 50_000;

function record(t: number): void {
  const at = now();
  received += 1;
  if (firstAt === 0) firstAt = at;
  lastAt = at;
  if (latencies.length < MAX_SAMPLES) latencies.push(at - t);
  else if (Math.random() < MAX_SAMPLES / received) latencies[Math.floor(Math.random() * MAX_SAMPLES)] = at - t;
}

/** A frame of ours, as far as the generator reads it. */
interface OurFrame {
  type: string;
  data?: { t?: number };
}

function openOurs(url: string, token: string, subscribe = true): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, {
      headers: { authorization: `Bearer ${token}` },
      perMessageDeflate: false,
    });
    ws.on('error', reject);
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as OurFrame;
      if (frame.type === 'message') {
        record(frame.data?.t ?? NaN);
      } else if (frame.type === 'welcome') {
        if (subscribe) ws.send(JSON.stringify({ type: 'subscribe', room: 'bench', id: 1 }));
        else resolve();
      } else if (frame.type === 'reply') {
        resolve();
      }
    });
    sockets.push({ close: () => ws.terminate() });
  });
}

function openWs(url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.on('error', reject);
    ws.on('open', () => resolve());
    ws.on('message', (data) => record((JSON.parse(data.toString()) as { t: number }).t));
    sockets.push({ close: () => ws.terminate() });
  });
}

function openSio(url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket: IoSocket = ioClient(url, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
    });
    socket.on('connect', () => resolve());
    socket.on('connect_error', reject);
    socket.on('m', (m: { t: number }) => record(m.t));
    sockets.push({ close: () => socket.disconnect() });
  });
}

/** A reader that reads at most `bytesPerSecond` (a tenth of what it is sent), in 100 ms steps. */
function openSlow(url: string, token: string, bytesPerSecond: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(url);
    const req = request({
      host: hostname,
      port,
      path: '/ws',
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        authorization: `Bearer ${token}`,
      },
    });
    req.on('error', reject);
    req.on('upgrade', (_res, socket: Socket) => {
      const body = Buffer.from(JSON.stringify({ type: 'subscribe', room: 'bench', id: 1 }));
      // One masked text frame, mask key 0 (the payload stays as is).
      socket.write(Buffer.concat([Buffer.from([0x81, 0x80 | body.length, 0, 0, 0, 0]), body]));
      socket.on('error', () => undefined);
      socket.pause();
      const budget = Math.max(1, Math.floor(bytesPerSecond / 10));
      const timer = setInterval(() => {
        let left = budget;
        while (left > 0) {
          const chunk = socket.read(Math.min(left, socket.readableLength || left)) as Buffer | null;
          if (chunk === null) break;
          left -= chunk.length;
        }
      }, 100);
      sockets.push({ close: () => (clearInterval(timer), socket.destroy()) });
      resolve();
    });
    req.end();
  });
}

process.on('message', (message: Command) => {
  void (async () => {
    if (message.cmd === 'connect') {
      let ok = 0;
      let failed = 0;
      const open = () =>
        message.kind === 'ours'
          ? openOurs(message.url, message.token)
          : message.kind === 'ours-idle'
            ? openOurs(message.url, message.token, false)
            : message.kind === 'ws'
              ? openWs(message.url)
              : message.kind === 'sio'
                ? openSio(message.url)
                : openSlow(message.url, message.token, message.slowBytesPerSecond ?? 10_000);
      for (let i = 0; i < message.count; i += 100) {
        const batch = Array.from({ length: Math.min(100, message.count - i) }, () =>
          open().then(
            () => (ok += 1),
            () => (failed += 1),
          ),
        );
        await Promise.all(batch);
      }
      send({ connected: ok, failed });
    } else if (message.cmd === 'reset') {
      received = 0;
      firstAt = 0;
      lastAt = 0;
      latencies = [];
      send({ reset: true });
    } else if (message.cmd === 'report') {
      send({ received, firstAt, lastAt, latencies });
    } else if (message.cmd === 'close') {
      for (const s of sockets) s.close();
      send({ closed: true });
      setTimeout(() => process.exit(0), 50);
    }
  })();
});
send({ ready: true });
