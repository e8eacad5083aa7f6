import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import type { EventMessage } from '../../contract/events';
import { defaultConfig, type Config } from '../../main/config';
import { ControlPlane, type ControlPlaneOptions } from '../../main/control-plane';
import { EventBus } from '../../main/events';
import { createLogger } from '../../main/logger';
import { discoveryMigrations, ServiceRegistry } from '../../main/discovery';
import { AuditLog, securityMigrations } from '../../main/security';
import { openStore, type Database } from '../../main/store';
import { tempDir } from '../helpers/temp-dir';
import { fleetSecretFor } from '../helpers/fleet-secret';

/** Polls `probe` every 10 ms until it returns a truthy value or `timeoutMs` passes (then throws). */
export async function waitFor<T>(probe: () => T | Promise<T>, timeoutMs = 5_000, what = 'condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A manual clock for time-dependent logic (ejection windows); real timers stay real. */
export class ManualClock {
  constructor(public t = Date.parse('2026-11-24T06:00:00Z')) {}
  now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

export interface RegistryFixture {
  readonly db: Database;
  readonly registry: ServiceRegistry;
  readonly bus: EventBus;
  readonly audit: AuditLog;
  readonly events: EventMessage[];
  readonly path: string;
  reopen(): ServiceRegistry;
  close(): void;
}

/** A registry over a real SQLite file in a temp dir, with its events collected. */
export function registryFixture(clock: { now(): number } = { now: () => Date.now() }): RegistryFixture {
  const dir = tempDir('ph-discovery-');
  const path = join(dir.path, 'pilothouse.db');
  const migrations = [...securityMigrations, ...discoveryMigrations];
  let db = openStore({ path, migrations });
  const bus = new EventBus((err) => {
    throw err;
  });
  const events: EventMessage[] = [];
  bus.subscribe((m) => events.push(m));
  const auditKey = randomBytes(32);
  let audit = new AuditLog(db, clock, { key: auditKey, headPath: null });
  const registry = new ServiceRegistry(db, clock, bus, audit);
  registry.load();
  return {
    get db() {
      return db;
    },
    registry,
    bus,
    get audit() {
      return audit;
    },
    events,
    path,
    reopen() {
      db.close();
      db = openStore({ path, migrations });
      audit = new AuditLog(db, clock, { key: auditKey, headPath: null });
      const again = new ServiceRegistry(db, clock, bus, audit);
      again.load();
      return again;
    },
    close() {
      if (db.open) db.close();
      dir.remove();
    },
  };
}

export interface Upstream {
  readonly port: number;
  readonly url: string;
  /** Status the next requests get (default 200). */
  status: number;
  body: string;
  /** Delay before answering. */
  delayMs: number;
  readonly requests: { method: string; url: string; headers: IncomingMessage['headers']; body: string; at: number }[];
  close(): Promise<void>;
}

/** A real HTTP server on 127.0.0.1, port 0, whose answers the test steers. */
export async function upstream(name = 'upstream'): Promise<Upstream> {
  const state = {
    status: 200,
    body: `hello from ${name}`,
    delayMs: 0,
    requests: [] as Upstream['requests'],
  };
  const server: Server = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      state.requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      });
      const answer = (): void => {
        res.writeHead(state.status, { 'content-type': 'text/plain', 'x-upstream': name });
        res.end(state.body);
      };
      if (state.delayMs > 0) setTimeout(answer, state.delayMs);
      else answer();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return Object.assign(state, {
    port,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

/** A real TCP listener on 127.0.0.1 that accepts and closes; `close()` makes connects fail. */
export async function tcpListener(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: TcpServer = createTcpServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export interface DiscoveryPlane {
  readonly plane: ControlPlane;
  readonly url: string;
  readonly adminKey: string;
  op(name: string, input?: unknown, key?: string | null): Promise<{ status: number; body: any }>;
  /** Creates an API key with a role and scopes and returns its secret. */
  key(role: 'viewer' | 'operator' | 'admin', scopes?: string[]): Promise<string>;
  fetch(path: string, init?: RequestInit & { key?: string | null }): Promise<Response>;
  stop(): Promise<void>;
}

/** A real headless control plane on 127.0.0.1:0 with discovery options, like test/helpers/control-plane.ts. */
export async function discoveryPlane(overrides: Partial<Config> = {}, options: Partial<ControlPlaneOptions> = {}): Promise<DiscoveryPlane> {
  const dir = tempDir('ph-plane-');
  const config: Config = { ...defaultConfig(dir.path), port: 0, logLevel: 'silent', ...fleetSecretFor(overrides), ...overrides };
  const plane = new ControlPlane({ config, sources: ['test'] }, { mode: 'headless', logger: createLogger(config.logLevel), ...options });
  await plane.start();
  const adminKey = readFileSync(join(config.dataDir, 'admin.key'), 'utf8').trim();
  const url = plane.url;
  const op: DiscoveryPlane['op'] = async (name, input = {}, key = adminKey) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (key !== null) headers.authorization = `Bearer ${key}`;
    const res = await fetch(`${url}/api/v2/ops/${name}`, { method: 'POST', headers, body: JSON.stringify(input) });
    return { status: res.status, body: await res.json() };
  };
  return {
    plane,
    url,
    adminKey,
    op,
    async key(role, scopes = []) {
      const { body } = await op('keys.create', { name: `${role} key`, role, scopes });
      return body.secret as string;
    },
    fetch(path, init = {}) {
      const { key = adminKey, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (key !== null) headers.set('authorization', `Bearer ${key}`);
      return fetch(`${url}${path}`, { ...rest, headers });
    },
    async stop() {
      await plane.stop();
      dir.remove();
    },
  };
}
