import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { TEST_FLEET_SECRET } from '../helpers/fleet-secret';
import { startRedis, type TestRedis } from '../helpers/redis-server';
import { tempDir } from '../helpers/temp-dir';

const root = resolve(import.meta.dirname, '../..');
// A node started through tsx compiles main/ on the fly: on a loaded two-core machine that takes a while.
const STARTUP_MS = 90_000;

/** One Pilothouse node in its own process (the headless entry), as an operator runs it. */
export interface FleetNode {
  readonly name: string;
  readonly dataDir: string;
  /** Set once started; a restart may change it (port 0). */
  readonly url: string;
  readonly wsUrl: string;
  /** The fleet's bootstrap admin key (one for the whole fleet: whichever node made it). */
  readonly adminKey: string;
  readonly pid: number;
  /** POSTs `/api/v2/ops/<name>` with the admin key. */
  op(name: string, input?: unknown): Promise<{ status: number; body: any }>;
  /** Any request on the node's API with the admin key; JSON body in and out. */
  request(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  /** kill -9: no shutdown, as a crashed machine. */
  kill(): Promise<void>;
  /** Starts the node again on the same data dir (same node id, same keys). */
  restart(): Promise<void>;
  /** SIGTERM and wait for the exit (graceful stop). */
  stop(): Promise<void>;
  /** The last of what the process wrote (log lines, on stdout, and stderr), and how each run ended: for failure messages. */
  stderr(): string;
}

export interface Fleet {
  readonly redis: TestRedis;
  readonly nodes: readonly FleetNode[];
  stop(): Promise<void>;
}

export interface FleetOptions {
  /** Extra environment for every node (PILOTHOUSE_*). */
  readonly env?: Record<string, string>;
  readonly logLevel?: string;
}

/**
 * `count` real node processes (`node --import tsx main/headless.ts`), each with its own data dir,
 * on one private redis-server, sharing the test fleet secret. Nodes start in parallel.
 */
export async function startFleet(count: number, options: FleetOptions = {}): Promise<Fleet> {
  const redis = await startRedis();
  const nodes: ProcessNode[] = [];
  try {
    for (let i = 0; i < count; i += 1) nodes.push(new ProcessNode(`node${i + 1}`, redis.url, options));
    await Promise.all(nodes.map((n) => n.start()));
    await shareAdminKey(nodes);
  } catch (err) {
    await Promise.all(nodes.map((n) => n.kill()));
    for (const n of nodes) n.removeDir();
    await redis.stop();
    throw err;
  }
  return {
    redis,
    nodes,
    async stop() {
      await Promise.all(nodes.map((n) => n.stop()));
      for (const n of nodes) n.removeDir();
      await redis.stop();
    },
  };
}

/**
 * Keys are fleet-wide: of nodes starting together only one makes the admin key (and writes
 * `admin.key`). Every node gets it, once each node accepts it.
 */
async function shareAdminKey(nodes: readonly ProcessNode[]): Promise<void> {
  const key = nodes.map((n) => n.adminKey).find((k) => k !== '');
  if (key === undefined) throw new Error('No node made the fleet admin key');
  for (const node of nodes) node.adminKey = key;
  const deadline = Date.now() + 10_000;
  for (const node of nodes) {
    while ((await node.op('keys.list')).status !== 200) {
      if (Date.now() > deadline) throw new Error(`${node.name} does not accept the fleet admin key: ${node.stderr()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

class ProcessNode implements FleetNode {
  readonly dataDir: string;
  readonly removeDir: () => void;
  url = '';
  adminKey = '';
  #child: ChildProcess | null = null;
  #exited: Promise<void> = Promise.resolve();
  #stderr = '';

  constructor(
    readonly name: string,
    private readonly redisUrl: string,
    private readonly options: FleetOptions,
  ) {
    const dir = tempDir(`ph-fleet-${name}-`);
    this.dataDir = dir.path;
    this.removeDir = dir.remove;
  }

  get wsUrl(): string {
    return `${this.url.replace('http', 'ws')}/ws`;
  }

  get pid(): number {
    return this.#child?.pid ?? 0;
  }

  stderr(): string {
    return this.#stderr;
  }

  async start(): Promise<void> {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(root, 'main/headless.ts'), '--data-dir', this.dataDir, '--port', '0', '--redis-url', this.redisUrl],
      {
        cwd: root,
        env: {
          ...process.env,
          PILOTHOUSE_LOG_LEVEL: this.options.logLevel ?? 'error',
          PILOTHOUSE_FLEET_SECRET: TEST_FLEET_SECRET,
          ...this.options.env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    this.#child = child;
    this.#exited = new Promise((r) => child.once('exit', () => r()));
    const keep = (d: Buffer): void => {
      this.#stderr = (this.#stderr + d.toString()).slice(-20_000);
    };
    child.stderr!.on('data', keep);
    child.stdout!.on('data', keep);
    child.once('exit', (code, signal) => keep(Buffer.from(`[${this.name} pid ${String(child.pid)} exited: ${String(code ?? signal)}]\n`)));
    this.url = await new Promise<string>((resolvePromise, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`${this.name} did not start within ${STARTUP_MS} ms: ${this.#stderr}`)), STARTUP_MS);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${this.name} exited with ${String(code)} while starting: ${this.#stderr}`));
      });
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const match = /Console: (http:\/\/[^\s]+?)\/\s/.exec(out);
        if (match !== null) {
          clearTimeout(timer);
          resolvePromise(match[1]!);
        }
      });
    });
    const keyFile = join(this.dataDir, 'admin.key');
    if (existsSync(keyFile)) this.adminKey = readFileSync(keyFile, 'utf8').trim();
  }

  op(name: string, input: unknown = {}): Promise<{ status: number; body: any }> {
    return this.request('POST', `/api/v2/ops/${name}`, input);
  }

  async request(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.adminKey}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${this.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: text === '' ? null : (JSON.parse(text) as unknown) };
  }

  async kill(): Promise<void> {
    const child = this.#child;
    if (child === null || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGKILL');
    await this.#exited;
  }

  async restart(): Promise<void> {
    await this.kill();
    await this.start();
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (child === null || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 8_000);
    await this.#exited;
    clearTimeout(timer);
  }
}
