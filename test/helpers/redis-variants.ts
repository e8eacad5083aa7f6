import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
import { freePort } from './redis-server';

/** A private redis-server started with its own arguments (password, ACL users, TLS, replication). */
export interface RedisProcess {
  readonly port: number;
  /** A client for assertions, connected as `connect` says (admin user, TLS). Closed by `stop()`. */
  client(): Redis;
  kill(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts `redis-server` on 127.0.0.1 (no persistence, its own dir) and waits until `connect` gets a PONG. */
export async function startRedisProcess(
  port: number,
  dir: string,
  args: readonly string[],
  connect: RedisOptions = {},
): Promise<RedisProcess> {
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...args],
    { stdio: 'ignore' },
  );
  const options: RedisOptions = { host: '127.0.0.1', port, maxRetriesPerRequest: 1, ...connect };
  await waitForPong(options);
  const clients: Redis[] = [];
  const kill = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  };
  return {
    port,
    client() {
      const client = new Redis(options);
      client.on('error', () => undefined);
      clients.push(client);
      return client;
    },
    kill,
    async stop() {
      for (const c of clients) c.disconnect();
      await kill();
    },
  };
}

async function waitForPong(options: RedisOptions): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const client = new Redis({ ...options, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => undefined);
    try {
      await client.connect();
      if ((await client.ping()) === 'PONG') return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      client.disconnect();
    }
  }
  throw new Error(`redis-server on port ${String(options.port)} did not answer within 10 s`);
}

export function tempFolder(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** A self-signed certificate for 127.0.0.1 made by `openssl req -x509` in `dir`: it is its own CA. */
export function selfSignedCertificate(dir: string): { cert: string; key: string; ca: Buffer } {
  const cert = join(dir, 'redis.crt');
  const key = join(dir, 'redis.key');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ],
    { stdio: 'ignore' },
  );
  return { cert, key, ca: readFileSync(cert) };
}

export interface SentinelSet {
  readonly name: string;
  readonly sentinels: string;
  readonly master: RedisProcess;
  readonly replica: RedisProcess;
  readonly sentinel: RedisProcess;
  /** The port Sentinel names as master now. */
  masterPort(): Promise<number>;
  /** `SENTINEL FAILOVER`, once the replica is known; resolves when Sentinel names the new master. */
  failover(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * A master, a replica (`--replicaof`, diskless sync without delay) and one Sentinel (quorum 1)
 * watching them, each a private process on a free loopback port; the Sentinel's config is a
 * writable file of its own (Sentinel rewrites it).
 */
export async function startSentinelSet(name = 'phmaster'): Promise<SentinelSet> {
  const dir = tempFolder('ph-sentinel-');
  const [mPort, rPort, sPort] = [await freePort(), await freePort(), await freePort()];
  const replication = ['--repl-diskless-sync', 'yes', '--repl-diskless-sync-delay', '0'];
  const master = await startRedisProcess(mPort, dir.path, replication);
  const replica = await startRedisProcess(rPort, dir.path, [...replication, '--replicaof', '127.0.0.1', String(mPort)]);
  const conf = join(dir.path, 'sentinel.conf');
  writeFileSync(
    conf,
    [
      `port ${sPort}`,
      'bind 127.0.0.1',
      `dir ${dir.path}`,
      `sentinel monitor ${name} 127.0.0.1 ${mPort} 1`,
      `sentinel down-after-milliseconds ${name} 1000`,
      `sentinel failover-timeout ${name} 10000`,
      '',
    ].join('\n'),
  );
  const sentinelChild = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
  await waitForPong({ host: '127.0.0.1', port: sPort });
  const sentinel: RedisProcess = {
    port: sPort,
    client: () => {
      const c = new Redis({ host: '127.0.0.1', port: sPort });
      c.on('error', () => undefined);
      return c;
    },
    kill: async () => {
      if (sentinelChild.exitCode !== null) return;
      await new Promise<void>((resolve) => {
        sentinelChild.once('exit', () => resolve());
        sentinelChild.kill('SIGKILL');
      });
    },
    stop: async () => sentinel.kill(),
  };
  const admin = sentinel.client();
  const masterPort = async (): Promise<number> => {
    const addr = (await admin.call('SENTINEL', 'get-master-addr-by-name', name)) as [string, string] | null;
    return addr === null ? 0 : Number(addr[1]);
  };
  const until = async (check: () => Promise<boolean>, what: string): Promise<void> => {
    const deadline = Date.now() + 20_000;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`Sentinel set: timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  return {
    name,
    sentinels: `127.0.0.1:${sPort}`,
    master,
    replica,
    sentinel,
    masterPort,
    async failover() {
      const before = await masterPort();
      await until(async () => {
        const replicas = (await admin.call('SENTINEL', 'replicas', name)) as string[][];
        return replicas.some((fields) => {
          const flags = fields[fields.indexOf('flags') + 1] ?? '';
          return !flags.includes('down') && !flags.includes('disconnected');
        });
      }, 'the replica to be known');
      await admin.call('SENTINEL', 'FAILOVER', name);
      await until(async () => {
        const now = await masterPort();
        return now !== 0 && now !== before;
      }, 'the new master');
      return masterPort();
    },
    async stop() {
      admin.disconnect();
      await sentinel.stop();
      await replica.stop();
      await master.stop();
      dir.remove();
    },
  };
}
