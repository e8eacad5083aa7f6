import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import WebSocket from 'ws';
import { defaultConfig, type Config } from '../../main/config';
import { ControlPlane, type ControlPlaneOptions } from '../../main/control-plane';
import { createLogger, type Logger } from '../../main/logger';
import { RealtimeClient } from '../../main/realtime/client';
import { tempDir } from '../helpers/temp-dir';
import { until } from '../helpers/until';
import { fleetSecretFor } from '../helpers/fleet-secret';
import { adminKeyOf } from '../helpers/control-plane';

export interface Node {
  readonly plane: ControlPlane;
  readonly url: string;
  readonly wsUrl: string;
  readonly dataDir: string;
  readonly adminKey: string;
  /** Creates an API key with the role (and scopes) and returns its secret. */
  key(role: 'viewer' | 'operator' | 'admin', name?: string, scopes?: string[]): Promise<string>;
  op(name: string, input?: unknown, key?: string): Promise<{ status: number; body: any }>;
  stop(): Promise<void>;
}

/**
 * A real headless Pilothouse on 127.0.0.1:0 with real-time options for tests. Pass `dataDir` of
 * another node to share its key store (two nodes of one deployment accept the same keys).
 */
export async function startNode(
  options: { config?: Partial<Config>; realtime?: ControlPlaneOptions['realtime']; logger?: Logger } = {},
): Promise<Node> {
  // A node given another's data dir shares it and leaves its removal to that node (or the test).
  const dir = options.config?.dataDir === undefined ? tempDir('ph-rt-') : null;
  const config: Config = {
    ...defaultConfig(dir?.path ?? ''),
    port: 0,
    logLevel: 'silent',
    ...fleetSecretFor(options.config ?? {}),
    ...options.config,
  };
  const plane = new ControlPlane(
    { config, sources: ['test'] },
    { mode: 'headless', logger: options.logger ?? createLogger('silent'), realtime: options.realtime },
  );
  await plane.start();
  const adminKey = adminKeyOf(plane);
  const url = plane.url;
  const op = async (name: string, input: unknown = {}, key = adminKey) => {
    const res = await fetch(`${url}/api/v2/ops/${name}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify(input),
    });
    return { status: res.status, body: (await res.json()) as any };
  };
  return {
    plane,
    url,
    wsUrl: `${url.replace('http', 'ws')}/ws`,
    dataDir: config.dataDir,
    adminKey,
    op,
    async key(role, name = `${role}-key`, scopes) {
      const res = await op('keys.create', { name, role, ...(scopes === undefined ? {} : { scopes }) });
      if (res.status !== 200) throw new Error(`keys.create failed: ${JSON.stringify(res.body)}`);
      return res.body.secret as string;
    },
    async stop() {
      await plane.stop();
      dir?.remove();
    },
  };
}

/**
 * Waits until every node at `urls` takes each key: keys made on one node of a fleet reach the others
 * through Redis (each node keeps its own data directory: one process per directory).
 */
export async function knownOn(urls: readonly string[], ...keys: string[]): Promise<void> {
  for (const url of urls)
    for (const key of keys)
      await until(
        async () =>
          (await fetch(`${url}/api/v2/ops/system.status`, { method: 'POST', headers: { authorization: `Bearer ${key}` } })).status === 200,
        10_000,
      );
}

export interface ChildNode {
  readonly child: ChildProcess;
  readonly url: string;
  readonly wsUrl: string;
  /** SIGKILL, as a crashed machine (nothing drained, no presence left), then its data dir removed. */
  kill(): void;
}

/**
 * A node in a child process (fixtures/node-main.ts) on a data dir of its own and `redisUrl`, named
 * `child-<pid>`, so a test can kill it; it learns the fleet's keys through Redis (`knownOn`).
 */
export async function startChildNode(redisUrl: string, pingIntervalMs = 1000): Promise<ChildNode> {
  const dir = tempDir('ph-rt-child-');
  const fixture = join(import.meta.dirname, 'fixtures', 'node-main.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, dir.path, redisUrl, String(pingIntervalMs)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const kill = (): void => {
    child.kill('SIGKILL');
    dir.remove();
  };
  const url = await new Promise<string>((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => {
      kill();
      reject(new Error('child node did not start'));
    }, 20_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const line = text.split('\n').find((l) => l.startsWith('{'));
      if (line !== undefined) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { url: string }).url);
      }
    });
  });
  return { child, url, wsUrl: `${url.replace('http', 'ws')}/ws`, kill };
}

/** A raw `ws` client that records every frame, for asserting the wire protocol itself. */
export class RawClient {
  readonly frames: any[] = [];
  readonly ws: WebSocket;
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;
  #waiters: (() => void)[] = [];
  #id = 0;

  constructor(url: string, options: { token?: string; autoPong?: boolean } = {}) {
    this.ws = new WebSocket(url, {
      headers: options.token === undefined ? {} : { authorization: `Bearer ${options.token}` },
      autoPong: options.autoPong ?? true,
    });
    this.ws.on('message', (data) => {
      this.frames.push(JSON.parse(data.toString()));
      for (const wake of this.#waiters.splice(0)) wake();
    });
    this.ws.on('error', () => undefined);
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    this.closed = new Promise((resolve) => this.ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  static async connect(url: string, token: string): Promise<RawClient> {
    const client = new RawClient(url, { token });
    await client.next((f) => f.type === 'welcome');
    return client;
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Sends a frame with a fresh id and waits for its reply (or coded error). */
  async request(frame: Record<string, unknown>, timeoutMs = 5000): Promise<any> {
    const id = ++this.#id;
    this.send({ ...frame, id });
    return this.next((f) => (f.type === 'reply' || f.type === 'error' || f.type === 'pong') && f.id === id, timeoutMs);
  }

  /** The first frame (recorded or future) matching, removed from the record. */
  async next(match: (frame: any) => boolean, timeoutMs = 5000): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.frames.findIndex(match);
      if (index >= 0) return this.frames.splice(index, 1)[0];
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`No matching frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames.slice(-5))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** All recorded frames matching, removed from the record. */
  take(match: (frame: any) => boolean): any[] {
    const out = this.frames.filter(match);
    for (const f of out) this.frames.splice(this.frames.indexOf(f), 1);
    return out;
  }

  close(): void {
    this.ws.close();
  }
}

export function client(url: string, token: string, reconnect: false | { minMs?: number; maxMs?: number } = false): RealtimeClient {
  return new RealtimeClient({ url, token, WebSocket: WebSocket as never, reconnect });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A client in a child process (fixtures/frame-printer.mjs) that a test can stall with SIGSTOP. */
export class ChildClient {
  readonly frames: any[] = [];
  readonly child: ChildProcess;
  #buffer = '';

  constructor(url: string, token: string) {
    this.child = spawn(process.execPath, [join(import.meta.dirname, 'fixtures', 'frame-printer.mjs'), url, token], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    this.child.stdout?.on('data', (chunk: Buffer) => {
      this.#buffer += chunk.toString();
      let nl = this.#buffer.indexOf('\n');
      while (nl >= 0) {
        const line = this.#buffer.slice(0, nl);
        this.#buffer = this.#buffer.slice(nl + 1);
        if (line !== '') this.frames.push(JSON.parse(line));
        nl = this.#buffer.indexOf('\n');
      }
    });
  }

  send(frame: unknown): void {
    this.child.stdin?.write(`${JSON.stringify(frame)}\n`);
  }

  async next(match: (f: any) => boolean, timeoutMs = 5000): Promise<any> {
    await until(() => this.frames.some(match), timeoutMs, 'a frame from the child client');
    const index = this.frames.findIndex(match);
    return this.frames.splice(index, 1)[0];
  }

  take(match: (f: any) => boolean): any[] {
    const out = this.frames.filter(match);
    for (const f of out) this.frames.splice(this.frames.indexOf(f), 1);
    return out;
  }

  stall(): void {
    this.child.kill('SIGSTOP');
  }

  resume(): void {
    this.child.kill('SIGCONT');
  }

  kill(): void {
    this.child.kill('SIGCONT');
    this.child.kill('SIGKILL');
  }
}

export { until };
