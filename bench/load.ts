import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { compareRates, progress, type RunOrder } from './lib';

/** autocannon ships no types; this is the slice of its API the suites use (kept local, not a global declaration). */
type Autocannon = (options: { url: string; connections: number; duration: number; headers?: Record<string, string> }) => Promise<{
  requests: { average: number; total: number };
  latency: { p99: number };
  errors: number;
  non2xx: number;
}>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

/** Linux counts a process's CPU time in clock ticks of 1/100 s (`getconf CLK_TCK`). */
const TICKS_PER_SECOND = 100;

/** A bench server under load: its port, how to read the CPU it has used, the headers each request carries. */
export interface LoadTarget {
  readonly port: number;
  /** The server's process id: its CPU is read from /proc. Without it, from the server's `/__cpu` route (`process.cpuUsage()`). */
  readonly pid?: number;
  /** Sent with every request (an API key). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** The CPU seconds a bench server has used (user and system). */
async function cpuSeconds(target: LoadTarget): Promise<number> {
  if (target.pid !== undefined) {
    // Fields 14 and 15 of /proc/<pid>/stat (utime, stime), counted after the command name's closing parenthesis.
    const stat = readFileSync(`/proc/${target.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  }
  const usage = (await (await fetch(`http://127.0.0.1:${target.port}/__cpu`)).json()) as { user: number; system: number };
  return (usage.user + usage.system) / 1e6;
}

export interface LoadShape {
  /** The route under load, e.g. `/api/v2/cached`. */
  readonly path: string;
  readonly connections: number;
  readonly seconds: number;
}

export interface LoadRound {
  rps: number;
  /** Requests served per CPU-second of the server. */
  perCpuSecond: number;
  p99: number;
  errors: number;
}

const load = (target: LoadTarget, shape: LoadShape, seconds: number) =>
  autocannon({
    url: `http://127.0.0.1:${target.port}${shape.path}`,
    connections: shape.connections,
    duration: seconds,
    ...(target.headers === undefined ? {} : { headers: { ...target.headers } }),
  });

/** One autocannon run against a bench server's route, with the server's CPU over it. */
async function loadRound(target: LoadTarget, shape: LoadShape): Promise<LoadRound> {
  const cpuBefore = await cpuSeconds(target);
  const result = await load(target, shape, shape.seconds);
  const cpu = (await cpuSeconds(target)) - cpuBefore;
  return {
    rps: result.requests.average,
    perCpuSecond: result.requests.total / Math.max(cpu, 1e-6),
    p99: result.latency.p99,
    errors: result.errors + result.non2xx,
  };
}

/** A bench server started for one round: where to load it, and how to stop it. */
export interface RoundServer extends LoadTarget {
  /** Resolves once the server's process has exited. */
  stop(): Promise<void>;
}

/** Stops a child server: SIGTERM, SIGKILL if it has not exited within 10 s; resolves on its exit. */
export function stopChild(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    proc.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    proc.kill('SIGTERM');
  });
}

/**
 * The same route on a bench server with a feature `on` and one with it `off`, for `rounds`
 * alternating rounds (compareRates). Each round starts a fresh process of each (`start`), warms
 * both for `warmSeconds` (JIT, connections), measures, then stops them: on a shared machine two
 * processes of one server differ by up to a sixth for their whole life (where V8's optimizing
 * landed, which core they shared), so one process per side would carry its luck into every round.
 * Returns each side's rates, p99s and requests per server CPU-second, and the errors of both.
 */
export async function compareOnOff(
  label: string,
  start: (side: 'on' | 'off') => Promise<RoundServer>,
  shape: LoadShape & { readonly warmSeconds: number },
  rounds: number,
): Promise<{
  ours: number;
  baseline: number;
  oursRounds: number[];
  baselineRounds: number[];
  rounds: number;
  order: RunOrder;
  p99: { on: number[]; off: number[] };
  perCpu: { on: number[]; off: number[] };
  errors: number;
}> {
  const p99 = { on: [] as number[], off: [] as number[] };
  const perCpu = { on: [] as number[], off: [] as number[] };
  let errors = 0;
  let servers: Record<'on' | 'off', RoundServer> | null = null;
  const measure = (side: 'on' | 'off') => async () => {
    if (servers === null) {
      servers = { on: await start('on'), off: await start('off') };
      for (const server of [servers.on, servers.off]) await load(server, shape, shape.warmSeconds);
    }
    const r = await loadRound(servers[side], shape);
    p99[side].push(r.p99);
    perCpu[side].push(r.perCpuSecond);
    errors += r.errors;
    progress(`${label} ${side}: ${Math.round(r.rps)} req/s, ${Math.round(r.perCpuSecond)} req per server CPU-second`);
    // The round's second side has run: its servers go, and the next round starts its own.
    if (p99.on.length === p99.off.length) {
      const { on, off } = servers;
      servers = null;
      await Promise.all([on.stop(), off.stop()]);
    }
    return r.rps;
  };
  const result = await compareRates(rounds, measure('on'), measure('off'));
  return { ...result, p99, perCpu, errors };
}
