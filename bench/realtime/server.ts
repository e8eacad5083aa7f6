// One server under test, in its own process (so its RSS is its own): `ours` (a headless Pilothouse
// with its real-time hub), `ws` (a plain ws server: the baseline) or `sio` (socket.io, room 'bench').
// Driven over IPC by index.ts: {cmd:'rss'} | {cmd:'publish', count, size, perSecond?} | {cmd:'stop'}.
import { createServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server as SocketIoServer } from 'socket.io';
import { WebSocketServer, type WebSocket } from 'ws';
import { defaultConfig } from '../../main/config';
import { ControlPlane } from '../../main/control-plane';
import { createLogger } from '../../main/logger';
import { BENCH_FLEET_SECRET } from '../lib';

type Command = { cmd: 'rss' } | { cmd: 'stats' } | { cmd: 'publish'; count: number; size: number; perSecond?: number } | { cmd: 'stop' };

const kind = process.argv[2] as 'ours' | 'ws' | 'sio';
const redisUrl = process.argv[3] || undefined;
/** Nodes of one deployment share a key store: the second node is given the first one's data dir. */
const sharedDataDir = process.argv[4] || undefined;
const PING_MS = 15_000;
const ROOM = 'bench';
const now = () => performance.timeOrigin + performance.now();
const send = (message: unknown) => process.send?.(message);

function payload(size: number): { t: number; p: string } {
  const t = now();
  const base = JSON.stringify({ t, p: '' }).length;
  return { t, p: 'x'.repeat(Math.max(0, size - base)) };
}

async function paced(count: number, perSecond: number | undefined, one: (i: number) => Promise<void> | void): Promise<number> {
  const started = now();
  for (let i = 0; i < count; i += 1) {
    if (perSecond !== undefined) {
      const due = started + (i * 1000) / perSecond;
      const wait = due - now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    } else if (i % 4 === 3) {
      await new Promise((r) => setImmediate(r));
    }
    await one(i);
  }
  return started;
}

async function main(): Promise<void> {
  let publish: (size: number) => Promise<void> | void;
  let stop: () => Promise<void>;
  let url: string;
  let token = '';
  let stats = async (): Promise<unknown> => ({});

  if (kind === 'ours') {
    const dir = sharedDataDir ?? mkdtempSync(join(tmpdir(), 'ph-bench-rt-'));
    const plane = new ControlPlane(
      {
        config: {
          ...defaultConfig(dir),
          port: 0,
          logLevel: 'silent',
          ...(redisUrl === undefined ? {} : { redisUrl, fleetSecret: BENCH_FLEET_SECRET }),
        },
        sources: ['bench'],
      },
      {
        mode: 'headless',
        logger: createLogger('silent'),
        // The bench connects with the admin key: its tier is unlimited, so frames are not limited.
        realtime: { pingIntervalMs: PING_MS },
      },
    );
    await plane.start();
    url = `${plane.url.replace('http', 'ws')}/ws`;
    token = readFileSync(join(dir, 'admin.key'), 'utf8').trim();
    const hub = plane.running.realtime;
    stats = async () => {
      const st = await hub.stats();
      return {
        maxHeld: Math.max(0, ...st.slowClients.map((c) => c.heldBytes)),
        dropped: st.totals.dropped,
        dataDir: dir,
      };
    };
    publish = async (size) => {
      await hub.publishAsServer(ROOM, payload(size));
    };
    stop = async () => {
      await plane.stop();
      if (sharedDataDir === undefined) rmSync(dir, { recursive: true, force: true });
    };
  } else if (kind === 'ws') {
    // Written as a competent ws user would for a broadcast: the upgrade handled by hand so the raw
    // socket is at hand, each publication encoded once into one Buffer, and every socket corked
    // from its first write in a turn until the end of that turn (the same batching as the hub's).
    const http = createServer();
    const wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      maxPayload: 64 * 1024,
    });
    const rawOf = new WeakMap<WebSocket, Duplex>();
    http.on('upgrade', (req, socket, head) => {
      wss.handleUpgrade(req, socket, head, (ws) => {
        rawOf.set(ws, socket);
        wss.emit('connection', ws, req);
      });
    });
    const corked = new Set<Duplex>();
    let uncorkScheduled = false;
    const uncorkAll = (): void => {
      uncorkScheduled = false;
      for (const socket of corked) socket.uncork();
      corked.clear();
    };
    const alive = new WeakMap<WebSocket, boolean>();
    wss.on('connection', (ws) => {
      alive.set(ws, true);
      ws.on('pong', () => alive.set(ws, true));
      ws.on('error', () => undefined);
    });
    // The same heartbeat duty as ours, so memory and CPU compare like with like.
    const pinger = setInterval(() => {
      for (const ws of wss.clients) {
        if (alive.get(ws) === false) ws.terminate();
        else {
          alive.set(ws, false);
          ws.ping();
        }
      }
    }, PING_MS);
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    url = `ws://127.0.0.1:${(http.address() as { port: number }).port}/ws`;
    publish = (size) => {
      const data = Buffer.from(JSON.stringify(payload(size)));
      for (const ws of wss.clients) {
        const socket = rawOf.get(ws);
        if (socket !== undefined && !corked.has(socket)) {
          socket.cork();
          corked.add(socket);
        }
        ws.send(data, { binary: false });
      }
      if (!uncorkScheduled) {
        uncorkScheduled = true;
        setImmediate(uncorkAll);
      }
    };
    stop = async () => {
      clearInterval(pinger);
      for (const ws of wss.clients) ws.terminate();
      await new Promise((r) => http.close(r));
    };
  } else {
    const http = createServer();
    const io = new SocketIoServer(http, {
      transports: ['websocket'],
      perMessageDeflate: false,
      pingInterval: PING_MS,
    });
    io.on('connection', (socket) => void socket.join(ROOM));
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(http.address() as { port: number }).port}`;
    publish = (size) => {
      io.to(ROOM).emit('m', payload(size));
    };
    stop = async () => {
      io.close();
    };
  }

  process.on('message', (message: Command) => {
    void (async () => {
      if (message.cmd === 'rss') {
        for (let i = 0; i < 3; i += 1) (globalThis as { gc?: () => void }).gc?.();
        send({ rss: process.memoryUsage().rss, cpu: process.cpuUsage() });
      } else if (message.cmd === 'stats') {
        send(await stats());
      } else if (message.cmd === 'publish') {
        const cpuBefore = process.cpuUsage();
        const started = await paced(message.count, message.perSecond, () => publish(message.size));
        const cpu = process.cpuUsage(cpuBefore);
        send({
          published: message.count,
          started,
          cpuMs: (cpu.user + cpu.system) / 1000,
        });
      } else if (message.cmd === 'stop') {
        await stop();
        send({ stopped: true });
        process.exit(0);
      }
    })();
  });
  send({ url, token, ...((await stats()) as object) });
}

void main();
