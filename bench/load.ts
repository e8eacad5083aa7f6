import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { median, oursFirst, progress, rounds, type RunOrder } from './lib';
import { PINNED, onLoadCore } from './pinning';

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

/** A bench server under load: its port, its process (whose CPU is read from /proc), the headers each request carries. */
export interface LoadTarget {
  readonly port: number;
  readonly pid: number;
  /** Sent with every request (an API key). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** The CPU seconds a bench server's process has used (user and system, every thread). */
function cpuSeconds(target: LoadTarget): number {
  // Fields 14 and 15 of /proc/<pid>/stat (utime, stime), counted after the command name's closing parenthesis.
  const stat = readFileSync(`/proc/${target.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
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
  const cpuBefore = cpuSeconds(target);
  const result = await load(target, shape, shape.seconds);
  const cpu = cpuSeconds(target) - cpuBefore;
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

export interface OnOffResult {
  ours: number;
  baseline: number;
  oursRounds: number[];
  baselineRounds: number[];
  rounds: number;
  order: RunOrder;
  p99: { on: number[]; off: number[] };
  perCpu: { on: number[]; off: number[] };
  errors: number;
}

/**
 * The same route on a bench server with a feature `on` and one with it `off`, for `rounds` rounds.
 * Each round starts a fresh process of each (`start`), warms both for `warmSeconds` (JIT,
 * connections), measures them one after the other, the side that leads alternating by round (the
 * baseline leads the even ones, as compareRates does), and stops both before the next round: on a
 * shared machine two processes of one server differ by up to a sixth for their whole life (where
 * V8's optimizing landed, which core they shared), so one process per side would carry its luck
 * into every round. The load generator runs on the first core meanwhile (pinning.ts); `start`
 * should start its servers with `serverCommand`, on the last. Returns each side's medians and
 * rounds, p99s, requests per server CPU-second, and the errors of both.
 */
export async function compareOnOff(
  label: string,
  start: (side: 'on' | 'off') => Promise<RoundServer>,
  shape: LoadShape & { readonly warmSeconds: number },
  roundCount: number,
): Promise<OnOffResult> {
  const done: Record<'on' | 'off', LoadRound[]> = { on: [], off: [] };
  const n = rounds(roundCount);
  await onLoadCore(async () => {
    for (let i = 0; i < n; i += 1) {
      const started: RoundServer[] = [];
      try {
        for (const side of ['on', 'off'] as const) started.push(await start(side));
        const servers = { on: started[0] as RoundServer, off: started[1] as RoundServer };
        for (const server of started) await load(server, shape, shape.warmSeconds);
        for (const side of oursFirst(i) ? (['on', 'off'] as const) : (['off', 'on'] as const)) {
          const r = await loadRound(servers[side], shape);
          done[side].push(r);
          progress(`${label} ${side}: ${Math.round(r.rps)} req/s, ${Math.round(r.perCpuSecond)} req per server CPU-second`);
        }
      } finally {
        // A server that did start is stopped even when the other failed to: nothing is left running.
        await Promise.all(started.map((server) => server.stop()));
      }
    }
  });
  const of = (side: 'on' | 'off', pick: (r: LoadRound) => number) => done[side].map(pick);
  return {
    ours: median(of('on', (r) => r.rps)),
    baseline: median(of('off', (r) => r.rps)),
    oursRounds: of('on', (r) => r.rps),
    baselineRounds: of('off', (r) => r.rps),
    rounds: n,
    order: 'alternating',
    p99: { on: of('on', (r) => r.p99), off: of('off', (r) => r.p99) },
    perCpu: { on: of('on', (r) => r.perCpuSecond), off: of('off', (r) => r.perCpuSecond) },
    errors: [...done.on, ...done.off].reduce((sum, r) => sum + r.errors, 0),
  };
}

/** The fields every on/off figure reports beside its name, goal and unit: the rates, how they were taken, and the server CPU behind them. */
export function onOffFields(
  result: OnOffResult,
  shape: LoadShape,
): { ours: number; baseline: number; better: 'higher'; order: RunOrder; [field: string]: unknown } {
  const cpuOn = median(result.perCpu.on);
  const cpuOff = median(result.perCpu.off);
  return {
    ours: Math.round(result.ours),
    baseline: Math.round(result.baseline),
    better: 'higher' as const,
    order: result.order,
    rounds: result.rounds,
    seconds_per_round: shape.seconds,
    connections: shape.connections,
    route: shape.path,
    servers: 'a fresh server of each side every round',
    pinned: PINNED ? 'servers on the last core, load on the first' : 'no',
    cpu_ratio: Number((cpuOn / cpuOff).toFixed(3)),
    server_cpu_us_per_req_on: Number((1e6 / cpuOn).toFixed(1)),
    server_cpu_us_per_req_off: Number((1e6 / cpuOff).toFixed(1)),
    // Each round's two sides run back to back: the median of their ratios shrugs off the machine's slow swings.
    paired_ratio: Number(median(result.oursRounds.map((rate, i) => rate / (result.baselineRounds[i] as number))).toFixed(3)),
    p99_ms_on: median(result.p99.on),
    p99_ms_off: median(result.p99.off),
    errors: result.errors,
    min: Math.round(Math.min(...result.oursRounds)),
    max: Math.round(Math.max(...result.oursRounds)),
  };
}
