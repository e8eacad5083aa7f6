import { createRequire } from 'node:module';
import { compareRates, progress, type RunOrder } from './lib';

/** autocannon ships no types; this is the slice of its API the suites use (kept local, not a global declaration). */
type Autocannon = (options: { url: string; connections: number; duration: number }) => Promise<{
  requests: { average: number; total: number };
  latency: { p99: number };
  errors: number;
  non2xx: number;
}>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

/** The CPU seconds a bench server has used, from its `/__cpu` route (`process.cpuUsage()`). */
async function cpuSeconds(port: number): Promise<number> {
  const usage = (await (await fetch(`http://127.0.0.1:${port}/__cpu`)).json()) as { user: number; system: number };
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
  /** Requests served per CPU-second of the server (its own `/__cpu`). */
  perCpuSecond: number;
  p99: number;
  errors: number;
}

/** One autocannon run against a bench server's route, with the server's CPU over it. */
async function loadRound(port: number, shape: LoadShape): Promise<LoadRound> {
  const cpuBefore = await cpuSeconds(port);
  const result = await autocannon({
    url: `http://127.0.0.1:${port}${shape.path}`,
    connections: shape.connections,
    duration: shape.seconds,
  });
  const cpu = (await cpuSeconds(port)) - cpuBefore;
  return {
    rps: result.requests.average,
    perCpuSecond: result.requests.total / Math.max(cpu, 1e-6),
    p99: result.latency.p99,
    errors: result.errors + result.non2xx,
  };
}

/**
 * The same route on two bench servers, one with a feature `on` and one with it `off`: both warmed for
 * a second, then `rounds` alternating rounds (compareRates). Returns each side's rates, p99s and
 * requests per server CPU-second, and the errors of both.
 */
export async function compareOnOff(
  label: string,
  ports: { on: number; off: number },
  shape: LoadShape,
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
  for (const port of [ports.on, ports.off])
    await autocannon({ url: `http://127.0.0.1:${port}${shape.path}`, connections: shape.connections, duration: 1 });
  const p99 = { on: [] as number[], off: [] as number[] };
  const perCpu = { on: [] as number[], off: [] as number[] };
  let errors = 0;
  const measure = (side: 'on' | 'off') => async () => {
    const r = await loadRound(ports[side], shape);
    p99[side].push(r.p99);
    perCpu[side].push(r.perCpuSecond);
    errors += r.errors;
    progress(`${label} ${side}: ${Math.round(r.rps)} req/s, ${Math.round(r.perCpuSecond)} req per server CPU-second`);
    return r.rps;
  };
  const result = await compareRates(rounds, measure('on'), measure('off'));
  return { ...result, p99, perCpu, errors };
}
