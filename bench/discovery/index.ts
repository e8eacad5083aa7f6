import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { createRequire } from 'node:module';
import { median, progress, report, rounds as atLeast, scaled } from '../lib';

/**
 * `npm run bench -- discovery`: the gateway against its upstreams straight, the CPU of 1,000 HTTP
 * checks a second, and failover when an upstream dies under load. Pilothouse and the upstreams run
 * in child processes so each one's CPU can be read from /proc; autocannon runs here.
 */
const here = resolve(import.meta.dirname);

/** The part of autocannon's result this suite reads (autocannon ships no types; a local view, not a global declaration). */
interface LoadResult {
  requests: { total: number };
  duration: number;
  errors: number;
  non2xx: number;
}
type Autocannon = (options: {
  url: string;
  connections: number;
  duration: number;
  headers: Record<string, string>;
  pipelining: number;
}) => Promise<LoadResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;
const children: ChildProcess[] = [];
const ROUNDS = atLeast(Number(process.env.BENCH_ROUNDS ?? 3));
const LOAD_SECONDS = Number(process.env.BENCH_DISCOVERY_SECONDS ?? scaled(4, 1));
const CHECKS_SECONDS = Number(process.env.BENCH_DISCOVERY_CHECKS_SECONDS ?? scaled(30, 3));
const CONNECTIONS = 48;

function child<T>(file: string, args: string[] = []): Promise<{ proc: ChildProcess; info: T }> {
  const prof =
    process.env.BENCH_DISCOVERY_PROFILE !== undefined && file === 'plane-child.ts'
      ? [`--cpu-prof`, `--cpu-prof-dir=${process.env.BENCH_DISCOVERY_PROFILE}`]
      : [];
  const proc = spawn(process.execPath, [...prof, '--import', 'tsx', resolve(here, file), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(proc);
  return new Promise((resolvePromise, reject) => {
    const lines = createInterface({ input: proc.stdout as NodeJS.ReadableStream });
    lines.once('line', (line) => resolvePromise({ proc, info: JSON.parse(line) as T }));
    proc.once('exit', (code) => reject(new Error(`${file} exited with ${code}`)));
  });
}

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat (ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function op(plane: { url: string; adminKey: string }, name: string, input: unknown): Promise<any> {
  const res = await fetch(`${plane.url}/api/v2/ops/${name}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${plane.adminKey}` },
    body: JSON.stringify(input),
  });
  const body = await res.json();
  if (res.status !== 200) throw new Error(`${name}: ${JSON.stringify(body)}`);
  return body;
}

function load(url: string, connections: number, seconds: number, headers: Record<string, string> = {}): Promise<LoadResult> {
  return autocannon({ url, connections, duration: seconds, headers, pipelining: 1 });
}

const rate = (r: LoadResult): number => r.requests.total / (r.duration || 1);

async function benchGateway(plane: { url: string; adminKey: string }, gatewayKey: string, pid: number): Promise<void> {
  const { info } = await child<{ ports: number[] }>('upstream-child.ts', ['3']);
  for (const [i, port] of info.ports.entries())
    await op(plane, 'services.register', { name: 'bench', id: `bench-${i}`, address: '127.0.0.1', port });
  const proxy = await child<{ url: string }>('proxy-child.ts', info.ports.map(String));
  const gw = `${plane.url}/gw/bench/`;
  const auth = { authorization: `Bearer ${gatewayKey}` };
  progress('discovery.gateway: warm-up');
  await load(gw, CONNECTIONS, 3, auth);
  await load(`${proxy.info.url}/`, CONNECTIONS, 1);
  await Promise.all(info.ports.map((port) => load(`http://127.0.0.1:${port}/`, CONNECTIONS / 3, 1)));
  const rates = { direct: [] as number[], gateway: [] as number[], proxy: [] as number[] };
  const cpuPerReq = { gateway: [] as number[], proxy: [] as number[] };
  let errors = 0;
  const sides: Record<keyof typeof rates, () => Promise<void>> = {
    direct: async () => {
      const direct = await Promise.all(info.ports.map((port) => load(`http://127.0.0.1:${port}/`, CONNECTIONS / 3, LOAD_SECONDS)));
      rates.direct.push(direct.reduce((sum, r) => sum + rate(r), 0));
    },
    gateway: async () => {
      const cpu0 = cpuSeconds(pid);
      const through = await load(gw, CONNECTIONS, LOAD_SECONDS, auth);
      cpuPerReq.gateway.push(((cpuSeconds(pid) - cpu0) / through.requests.total) * 1e6);
      rates.gateway.push(rate(through));
      errors += through.errors + through.non2xx;
    },
    proxy: async () => {
      const proxyPid = proxy.proc.pid as number;
      const cpu0 = cpuSeconds(proxyPid);
      const through = await load(`${proxy.info.url}/`, CONNECTIONS, LOAD_SECONDS);
      cpuPerReq.proxy.push(((cpuSeconds(proxyPid) - cpu0) / through.requests.total) * 1e6);
      rates.proxy.push(rate(through));
      errors += through.errors + through.non2xx;
    },
  };
  const names = Object.keys(sides) as (keyof typeof rates)[];
  for (let round = 0; round < ROUNDS; round += 1) {
    // Each side leads a round in turn.
    for (let j = 0; j < names.length; j += 1) await sides[names[(round + j) % names.length] as keyof typeof rates]();
    progress(
      `discovery.gateway round ${round + 1}: gateway ${Math.round(rates.gateway.at(-1) ?? 0)}/s (${(cpuPerReq.gateway.at(-1) ?? 0).toFixed(0)} µs CPU each), reply-from proxy ${Math.round(rates.proxy.at(-1) ?? 0)}/s (${(cpuPerReq.proxy.at(-1) ?? 0).toFixed(0)} µs CPU each), straight ${Math.round(rates.direct.at(-1) ?? 0)}/s`,
    );
  }
  const common = {
    unit: 'req/s',
    better: 'higher' as const,
    order: 'rotating (straight, gateway and reply-from proxy each lead a round in turn)',
    rounds: ROUNDS,
    seconds: LOAD_SECONDS,
    connections: CONNECTIONS,
    gateway_cpu_us_per_req: Number(median(cpuPerReq.gateway).toFixed(1)),
    proxy_cpu_us_per_req: Number(median(cpuPerReq.proxy).toFixed(1)),
    ours_rounds: rates.gateway.map(Math.round),
    errors,
  };
  report({
    bench: 'discovery.gateway',
    ours: Math.round(median(rates.gateway)),
    baseline: Math.round(median(rates.direct)),
    goal: '>= 0.5',
    baseline_is: 'autocannon straight at the same 3 upstreams',
    ...common,
    baseline_rounds: rates.direct.map(Math.round),
  });
  report({
    bench: 'discovery.gateway-vs-reply-from',
    ours: Math.round(median(rates.gateway)),
    baseline: Math.round(median(rates.proxy)),
    goal: '>= 0.9',
    baseline_is: 'a plain @fastify/reply-from proxy (round-robin, same pool settings, no auth, no forwarding headers)',
    ...common,
    baseline_rounds: rates.proxy.map(Math.round),
  });
  proxy.proc.kill('SIGKILL');
  for (let i = 0; i < 3; i += 1) await op(plane, 'services.deregister', { id: `bench-${i}` });
}

async function benchChecks(plane: { url: string; adminKey: string }, pid: number): Promise<void> {
  const servers = 10;
  const instances = scaled(1000, 50);
  const { proc, info } = await child<{ ports: number[] }>('upstream-child.ts', [String(servers)]);
  progress(`discovery.checks: registering ${instances} instances with HTTP checks every second`);
  const queue = Array.from({ length: instances }, (_, i) => i);
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
        const port = info.ports[i % servers] as number;
        await op(plane, 'services.register', {
          name: `checked-${i % 50}`,
          id: `checked-${i}`,
          address: '127.0.0.1',
          port,
          checks: [{ kind: 'http', url: `http://127.0.0.1:${port}/health?i=${i}`, intervalMs: 1000 }],
        });
      }
    }),
  );
  await new Promise((r) => setTimeout(r, 3_000));
  const windows = 3;
  const shares: number[] = [];
  const { instances: passing } = await op(plane, 'services.list', { state: 'passing' });
  for (let w = 0; w < windows; w += 1) {
    const cpu0 = cpuSeconds(pid);
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, (CHECKS_SECONDS * 1000) / windows));
    shares.push((cpuSeconds(pid) - cpu0) / ((performance.now() - t0) / 1000));
    progress(`discovery.checks window ${w + 1}: ${(shares.at(-1) ?? 0).toFixed(3)} of a core`);
  }
  report({
    bench: 'discovery.checks',
    ours: Number(median(shares).toFixed(3)),
    unit: 'share of one core',
    goal: '<= 0.25',
    better: 'lower',
    order: 'single',
    instances,
    passing: passing.length,
    interval_ms: 1000,
    seconds: CHECKS_SECONDS,
    windows: shares.map((s) => Number(s.toFixed(3))),
  });
  for (let i = 0; i < instances; i += 1) await op(plane, 'services.deregister', { id: `checked-${i}` });
  proc.kill('SIGKILL');
}

async function benchFailover(plane: { url: string; adminKey: string }, gatewayKey: string): Promise<void> {
  const failures: number[] = [];
  const ejectMs: number[] = [];
  const totals: number[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    const ups = await Promise.all([0, 1, 2].map(() => child<{ ports: number[] }>('upstream-child.ts', ['1'])));
    const name = `failover-${round}`;
    for (const [i, u] of ups.entries()) {
      await op(plane, 'services.register', {
        name,
        id: `${name}-${i}`,
        address: '127.0.0.1',
        port: u.info.ports[0],
        checks: [{ kind: 'http', intervalMs: 1000, failuresBeforeCritical: 2 }],
      });
    }
    // Wait for every check to pass before loading.
    for (let i = 0; i < 100; i += 1) {
      const { instances } = await op(plane, 'services.list', { name, state: 'passing' });
      if (instances.length === 3) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const running = load(`${plane.url}/gw/${name}/`, CONNECTIONS, LOAD_SECONDS, { authorization: `Bearer ${gatewayKey}` });
    await new Promise((r) => setTimeout(r, (LOAD_SECONDS * 1000) / 3));
    const victim = `${name}-0`;
    const killedAt = performance.now();
    (ups[0] as { proc: ChildProcess }).proc.kill('SIGKILL');
    let left = -1;
    while (performance.now() - killedAt < 5_000) {
      const [{ instances: traffic }, { instance }] = await Promise.all([
        op(plane, 'services.traffic', { name }),
        op(plane, 'services.get', { id: victim }),
      ]);
      const row = traffic.find((t: { id: string }) => t.id === victim);
      if (row?.ejected === true || instance.state !== 'passing') {
        left = performance.now() - killedAt;
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    const result = await running;
    failures.push(result.errors + result.non2xx);
    totals.push(result.requests.total);
    ejectMs.push(Math.round(left));
    progress(
      `discovery.failover round ${round + 1}: ${result.errors + result.non2xx} failed of ${result.requests.total}, left picks after ${Math.round(left)} ms`,
    );
    for (const u of ups) u.proc.kill('SIGKILL');
    for (let i = 0; i < 3; i += 1) await op(plane, 'services.deregister', { id: `${name}-${i}` });
  }
  report({
    bench: 'discovery.failover',
    ours: median(failures),
    unit: 'failed idempotent requests',
    goal: 0,
    better: 'lower',
    order: 'single',
    eject_ms: median(ejectMs),
    eject_ms_rounds: ejectMs,
    check_interval_ms: 1000,
    requests: Math.round(median(totals)),
    rounds: ROUNDS,
  });
}

async function main(): Promise<void> {
  const { proc, info: plane } = await child<{ url: string; adminKey: string }>('plane-child.ts');
  const pid = proc.pid as number;
  const { key, secret: gatewayKey } = await op(plane, 'keys.create', { name: 'bench gateway', role: 'viewer', scopes: ['gateway'] });
  // The gateway is measured, not the rate limit: the load key is on the unlimited tier (docs/rate-limits.md).
  await op(plane, 'ratelimit.keys.assign', { id: key.id, tier: 'unlimited' });
  const only = process.env.BENCH_DISCOVERY_ONLY;
  if (only === undefined || only === 'gateway') await benchGateway(plane, gatewayKey, pid);
  if (only === undefined || only === 'failover') await benchFailover(plane, gatewayKey);
  if (only === undefined || only === 'checks') await benchChecks(plane, pid);
}

main()
  .catch((err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  })
  .finally(async () => {
    const plane = children[0];
    if (plane !== undefined && plane.exitCode === null) {
      plane.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 2_000));
    }
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  });
