/**
 * What the realtime benchmarks drive: servers under test and load generators, each a child process
 * answering IPC commands, and one fan-out round measured against them.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { rounds as atLeast } from '../lib';

export const ROUNDS = atLeast(Number(process.env.BENCH_ROUNDS ?? 3));
/** The three servers take turns leading a round: round i starts with the i-th (mod 3). */
export const KINDS = ['ws', 'ours', 'sio'] as const;
export const rotated = <T>(list: readonly T[], round: number): T[] => list.map((_, j) => list[(round + j) % list.length] as T);
const here = import.meta.dirname;
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A child process answering one IPC message per command. */
export class Child {
  readonly proc: ChildProcess;
  #waiting: ((m: any) => void)[] = [];
  readonly first: Promise<any>;

  constructor(script: string, args: string[] = [], execArgv: string[] = ['--import', 'tsx']) {
    this.proc = fork(join(here, script), args, {
      execArgv,
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    this.first = new Promise((resolve) => this.#waiting.push(resolve));
    this.proc.on('message', (m) => this.#waiting.shift()?.(m));
  }

  ask(command: unknown, timeoutMs = 120_000): Promise<any> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer to ${JSON.stringify(command).slice(0, 80)}`)), timeoutMs);
      this.#waiting.push((m) => {
        clearTimeout(timer);
        resolve(m);
      });
      this.proc.send(command as never);
    });
  }

  kill(): void {
    this.proc.kill('SIGKILL');
  }
}

export type Kind = 'ours' | 'ws' | 'sio';
export interface Server {
  kind: Kind;
  child: Child;
  url: string;
  token: string;
}

export async function startServer(kind: Kind, redisUrl = '', dataDir = ''): Promise<Server & { dataDir: string }> {
  // BENCH_REALTIME_PROFILE=<dir> writes a CPU profile of each server under test (written when it stops).
  const profileDir = process.env.BENCH_REALTIME_PROFILE;
  // One folder per kind: the loader's worker thread writes a profile of its own beside the main thread's.
  const prof = profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${join(profileDir, kind)}`];
  const child = new Child('server.ts', [kind, redisUrl, dataDir], [...prof, '--expose-gc', '--import', 'tsx']);
  const first = await child.first;
  return {
    kind,
    child,
    url: first.url,
    token: first.token,
    dataDir: first.dataDir ?? '',
  };
}

export async function generators(count: number): Promise<Child[]> {
  const list = Array.from({ length: count }, () => new Child('load.ts'));
  await Promise.all(list.map((g) => g.first));
  return list;
}

export async function connect(
  gens: Child[],
  server: Server,
  total: number,
  kind: string = server.kind,
  extra: object = {},
): Promise<number> {
  const each = Math.ceil(total / gens.length);
  const replies = await Promise.all(
    gens.map((g) =>
      g.ask({
        cmd: 'connect',
        kind,
        url: server.url,
        token: server.token,
        count: each,
        ...extra,
      }),
    ),
  );
  return replies.reduce((n, r) => n + r.connected, 0);
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/** Publishes `count` messages as fast as the server goes; returns deliveries per second and latencies. */
export async function fanoutRound(server: Server, gens: Child[], subscribers: number, count: number, size: number, perSecond?: number) {
  await Promise.all(gens.map((g) => g.ask({ cmd: 'reset' })));
  const { started, cpuMs } = await server.child.ask({
    cmd: 'publish',
    count,
    size,
    perSecond,
  });
  const expected = subscribers * count;
  const deadline = Date.now() + 30_000;
  let reports: any[] = [];
  for (;;) {
    reports = await Promise.all(gens.map((g) => g.ask({ cmd: 'report' })));
    const got = reports.reduce((n, r) => n + r.received, 0);
    if (got >= expected || Date.now() > deadline) break;
    await sleep(50);
  }
  const received = reports.reduce((n, r) => n + r.received, 0);
  const lastAt = Math.max(...reports.map((r) => r.lastAt));
  const latencies = reports.flatMap((r) => r.latencies as number[]);
  return {
    rate: received / ((lastAt - started) / 1000),
    received,
    expected,
    latencies,
    cpuUsPerDelivery: (cpuMs * 1000) / Math.max(1, received),
  };
}
