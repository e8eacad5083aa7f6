// `npm run bench -- realtime`: the hub beside a plain `ws` server and socket.io, each in its own
import { rmSync } from 'node:fs';
// process, with load generators in child processes on 127.0.0.1. One JSON line per figure on stdout.
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { median, oursFirst, progress, report, rounds as atLeast, scaled } from '../lib';
import { RealtimeClient } from '../../main/realtime/client';
import { startRedis } from '../../test/helpers/redis-server';
import WebSocket from 'ws';

const ROUNDS = atLeast(Number(process.env.BENCH_ROUNDS ?? 3));
/** The three servers take turns leading a round: round i starts with the i-th (mod 3). */
const KINDS = ['ws', 'ours', 'sio'] as const;
const rotated = <T>(list: readonly T[], round: number): T[] => list.map((_, j) => list[(round + j) % list.length] as T);
const here = import.meta.dirname;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A child process answering one IPC message per command. */
class Child {
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

type Kind = 'ours' | 'ws' | 'sio';
interface Server {
  kind: Kind;
  child: Child;
  url: string;
  token: string;
}

async function startServer(kind: Kind, redisUrl = '', dataDir = ''): Promise<Server & { dataDir: string }> {
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

async function generators(count: number): Promise<Child[]> {
  const list = Array.from({ length: count }, () => new Child('load.ts'));
  await Promise.all(list.map((g) => g.first));
  return list;
}

async function connect(gens: Child[], server: Server, total: number, kind: string = server.kind, extra: object = {}): Promise<number> {
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

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/** Publishes `count` messages as fast as the server goes; returns deliveries per second and latencies. */
async function fanoutRound(server: Server, gens: Child[], subscribers: number, count: number, size: number, perSecond?: number) {
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

async function benchFanout(): Promise<void> {
  const SUBS = scaled(5000, 100);
  const COUNT = 20;
  const SIZE = 100;
  progress(`fanout: starting ours, ws and socket.io servers and ${SUBS} subscribers each`);
  const servers = {
    ws: await startServer('ws'),
    ours: await startServer('ours'),
    sio: await startServer('sio'),
  };
  const gens = {
    ws: await generators(2),
    ours: await generators(2),
    sio: await generators(2),
  };
  for (const kind of ['ws', 'ours', 'sio'] as const) {
    const n = await connect(gens[kind], servers[kind], SUBS);
    progress(`  ${kind}: ${n} subscribers connected`);
  }
  const rounds: Record<Kind, number[]> = { ws: [], ours: [], sio: [] };
  const cpu: Record<Kind, number[]> = { ws: [], ours: [], sio: [] };
  for (let i = 0; i < ROUNDS; i += 1) {
    for (const kind of rotated(KINDS, i)) {
      const r = await fanoutRound(servers[kind], gens[kind], SUBS, COUNT, SIZE);
      rounds[kind].push(r.rate);
      cpu[kind].push(r.cpuUsPerDelivery);
      progress(
        `  round ${i + 1} ${kind}: ${Math.round(r.rate)} msg/s (${r.received}/${r.expected}), ${r.cpuUsPerDelivery.toFixed(1)} µs server CPU per delivery`,
      );
    }
  }
  const ours = median(rounds.ours);
  report({
    bench: 'realtime.fanout',
    ours,
    baseline: median(rounds.ws),
    unit: 'msg/s',
    goal: '>= 0.8',
    better: 'higher',
    order: 'rotating (ws, ours and socket.io each lead a round in turn)',
    subscribers: SUBS,
    payload_bytes: SIZE,
    rounds: ROUNDS,
    receivers: 'JSON.parse of every frame on both sides',
    baseline_is: 'ws send loop of one pre-encoded Buffer, each socket corked until the end of the turn',
    ours_rounds: rounds.ours.map(Math.round),
    baseline_rounds: rounds.ws.map(Math.round),
    ours_cpu_us_per_msg: Number(median(cpu.ours).toFixed(2)),
    baseline_cpu_us_per_msg: Number(median(cpu.ws).toFixed(2)),
  });
  report({
    bench: 'realtime.fanout-socketio',
    ours,
    baseline: median(rounds.sio),
    unit: 'msg/s',
    goal: '>= 2',
    better: 'higher',
    order: 'rotating (ws, ours and socket.io each lead a round in turn)',
    subscribers: SUBS,
    payload_bytes: SIZE,
    rounds: ROUNDS,
    receivers: 'JSON.parse of every frame on both sides (socket.io-client parses its own)',
    baseline_rounds: rounds.sio.map(Math.round),
    baseline_cpu_us_per_msg: Number(median(cpu.sio).toFixed(2)),
  });

  // Latency, both servers at one publication rate in the same run: half the lower of the two peaks,
  // so neither runs past half its own peak.
  const perSecond = Math.max(1, Math.min(ours, median(rounds.ws)) / 2 / SUBS);
  const duration = 3;
  const p99s: number[] = [];
  const baseP99s: number[] = [];
  for (let i = 0; i < ROUNDS; i += 1) {
    const run = async (kind: 'ours' | 'ws') => {
      const r = await fanoutRound(servers[kind], gens[kind], SUBS, Math.round(perSecond * duration), SIZE, perSecond);
      (kind === 'ours' ? p99s : baseP99s).push(percentile(r.latencies, 99));
    };
    for (const kind of oursFirst(i) ? (['ours', 'ws'] as const) : (['ws', 'ours'] as const)) await run(kind);
    progress(
      `  latency round ${i + 1}: ours p99 ${p99s.at(-1)?.toFixed(1)} ms, ws p99 ${baseP99s.at(-1)?.toFixed(1)} ms, both at ${perSecond.toFixed(1)} pub/s`,
    );
  }
  report({
    bench: 'realtime.latency',
    ours: Number(median(p99s).toFixed(2)),
    baseline: Number(median(baseP99s).toFixed(2)),
    unit: 'ms p99',
    goal: 'ratio (ws p99 ÷ ours p99) >= 1; ours <= 50',
    better: 'lower',
    order: 'alternating',
    subscribers: SUBS,
    publications_per_second: Number(perSecond.toFixed(2)),
    rate_is: 'the same for both: half the lower of the two measured fan-out peaks',
    ours_rounds: p99s.map((x) => Number(x.toFixed(2))),
    baseline_rounds: baseP99s.map((x) => Number(x.toFixed(2))),
    rounds: ROUNDS,
  });

  for (const kind of ['ws', 'ours', 'sio'] as const) {
    await Promise.all(gens[kind].map((g) => g.ask({ cmd: 'close' })));
    await servers[kind].child.ask({ cmd: 'stop' }).catch(() => servers[kind].child.kill());
  }
}

async function benchMemory(): Promise<void> {
  const CONNECTIONS = scaled(10_000, 200);
  const per: Record<'ours' | 'ws', number[]> = { ours: [], ws: [] };
  for (let i = 0; i < ROUNDS; i += 1) {
    for (const kind of oursFirst(i) ? (['ours', 'ws'] as const) : (['ws', 'ours'] as const)) {
      const server = await startServer(kind);
      const gens = await generators(4);
      await sleep(300);
      const before = (await server.child.ask({ cmd: 'rss' })).rss as number;
      const n = await connect(gens, server, CONNECTIONS, kind === 'ours' ? 'ours-idle' : 'ws');
      await sleep(1000);
      const after = (await server.child.ask({ cmd: 'rss' })).rss as number;
      per[kind].push((after - before) / 1024 / n);
      progress(`  memory round ${i + 1} ${kind}: ${n} connections, ${((after - before) / 1024 / n).toFixed(2)} KB each`);
      await Promise.all(gens.map((g) => g.ask({ cmd: 'close' })));
      await server.child.ask({ cmd: 'stop' }).catch(() => server.child.kill());
    }
  }
  // Lower is better: report() makes the ratio baseline ÷ ours, so under 1 means ours is heavier.
  report({
    bench: 'realtime.memory-per-connection',
    ours: Number(median(per.ours).toFixed(2)),
    baseline: Number(median(per.ws).toFixed(2)),
    unit: 'KB/connection',
    goal: 'ours <= 15',
    better: 'lower',
    order: 'alternating',
    connections: CONNECTIONS,
    rounds: ROUNDS,
    ours_rounds: per.ours.map((x) => Number(x.toFixed(2))),
    baseline_rounds: per.ws.map((x) => Number(x.toFixed(2))),
  });
}

async function benchSlowConsumer(): Promise<void> {
  // 5% slow. Big enough frames that a slow reader's backlog outgrows the kernel's socket buffers
  // and reaches the hub's (the cap is what is under test), small enough that 2 cores keep up.
  const HEALTHY = scaled(190, 19);
  const SLOW = scaled(10, 1);
  const SIZE = 16 * 1024;
  const RATE = 20;
  const COUNT = RATE * 5;
  const p99 = { with: [] as number[], without: [] as number[] };
  let maxHeld = 0;
  // A p99 of ~20 ms moves by a few ms between rounds on a shared machine: more rounds than the others.
  const rounds = Math.max(ROUNDS, 5);
  for (let i = 0; i < rounds; i += 1) {
    for (const withSlow of oursFirst(i) ? [true, false] : [false, true]) {
      const server = await startServer('ours');
      const healthy = await generators(2);
      await connect(healthy, server, HEALTHY, 'ours');
      // The slow readers' process runs in both cases (idle without them), so only the readers differ.
      const slowGen = await generators(1);
      if (withSlow)
        await connect(slowGen, server, SLOW, 'slow', {
          slowBytesPerSecond: (SIZE * RATE) / 10,
        });
      const r = await fanoutRound(server, healthy, HEALTHY, COUNT, SIZE, RATE);
      const value = percentile(r.latencies, 99);
      (withSlow ? p99.with : p99.without).push(value);
      if (withSlow) maxHeld = Math.max(maxHeld, (await server.child.ask({ cmd: 'stats' })).maxHeld as number);
      progress(`  slow-consumer round ${i + 1} ${withSlow ? 'with' : 'without'} slow clients: healthy p99 ${value.toFixed(2)} ms`);
      await Promise.all([...healthy, ...slowGen].map((g) => g.ask({ cmd: 'close' })));
      await server.child.ask({ cmd: 'stop' }).catch(() => server.child.kill());
    }
  }
  const withP = median(p99.with);
  const withoutP = median(p99.without);
  report({
    bench: 'realtime.slow-consumer',
    ours: Number((withP / withoutP).toFixed(3)),
    baseline: null,
    unit: 'p99 ratio (with ÷ without slow clients)',
    goal: '<= 1.1',
    better: 'lower',
    order: 'alternating (with and without slow clients)',
    healthy: HEALTHY,
    slow: SLOW,
    payload_bytes: SIZE,
    publications_per_second: RATE,
    p99_with_ms: Number(withP.toFixed(2)),
    p99_without_ms: Number(withoutP.toFixed(2)),
    slow_max_held_bytes: maxHeld,
    cap_bytes: 1024 * 1024,
    rounds,
    p99_with_rounds: p99.with.map((x) => Number(x.toFixed(2))),
    p99_without_rounds: p99.without.map((x) => Number(x.toFixed(2))),
  });
}

interface RecoveryRound {
  total: number;
  good: number;
  resumeMs: number[];
  notConnected: number;
  outOfOrder: number;
  duplicates: number;
}

/** Even, so the two generator processes take half each. */
const RECOVERY_CLIENTS = 2 * scaled(500, 25);

/** One recovery run on a fresh redis-server and two fresh nodes (node A is killed during it). */
async function recoveryRound(): Promise<RecoveryRound> {
  const CLIENTS = RECOVERY_CLIENTS;
  const ROOMS = Array.from({ length: 10 }, (_, i) => `rec-${i}`);
  const redis = await startRedis();
  try {
    const a = await startServer('ours', redis.url);
    const b = await startServer('ours', redis.url, a.dataDir);
    const publisherB = new RealtimeClient({
      url: `${b.url}`,
      token: a.token,
      WebSocket: WebSocket as never,
    });
    const publisherA = new RealtimeClient({
      url: a.url,
      token: a.token,
      WebSocket: WebSocket as never,
      reconnect: false,
    });
    for (const room of ROOMS) await publisherB.publish(room, { warmup: true });
    progress(`recovery: ${CLIENTS} clients over two nodes on one redis-server`);
    const gens = Array.from({ length: 2 }, () => new Child('recover-load.ts'));
    await Promise.all(gens.map((g) => g.first));
    const connected = await Promise.all(
      gens.map((g) =>
        g.ask(
          {
            cmd: 'connect',
            urls: [a.url, b.url],
            token: a.token,
            count: CLIENTS / 2,
            rooms: ROOMS,
            roomsEach: 2,
          },
          180_000,
        ),
      ),
    );
    progress(`  connected: ${connected.map((c) => c.connected).join(' + ')}`);
    const acked: Record<string, { epoch: string; offsets: number[] }> = {};
    let publishing = true;
    const publishLoop = async (client: RealtimeClient) => {
      let i = 0;
      while (publishing) {
        const room = ROOMS[i % ROOMS.length] as string;
        i += 1;
        try {
          const { position } = await client.publish(room, { i });
          const entry = (acked[room] ??= {
            epoch: position.epoch,
            offsets: [],
          });
          if (entry.epoch === position.epoch) entry.offsets.push(position.offset);
        } catch {
          // not acknowledged: not counted
        }
        await sleep(20);
      }
    };
    const loops = [publishLoop(publisherA), publishLoop(publisherB)];
    for (let t = 0; t < 8; t += 1) {
      await sleep(500);
      await Promise.all(gens.map((g) => g.ask({ cmd: 'chaos', share: 0.02 })));
      if (t === 4) {
        progress('  killing node A');
        a.child.kill();
      }
    }
    publishing = false;
    await Promise.all(loops);
    await sleep(3000);
    const results = await Promise.all(gens.map((g) => g.ask({ cmd: 'verify', acked }, 60_000)));
    const round: RecoveryRound = {
      total: results.reduce((n, r) => n + r.total, 0),
      good: results.reduce((n, r) => n + r.good, 0),
      resumeMs: results.flatMap((r) => r.resumeMs as number[]),
      notConnected: results.reduce((n, r) => n + r.notConnected, 0),
      outOfOrder: results.reduce((n, r) => n + r.outOfOrder, 0),
      duplicates: results.reduce((n, r) => n + r.duplicates, 0),
    };
    publisherA.close();
    publisherB.close();
    await Promise.all(gens.map((g) => g.ask({ cmd: 'close' })));
    await b.child.ask({ cmd: 'stop' }).catch(() => b.child.kill());
    // Node A was killed, so nothing removed the data directory the two nodes shared.
    rmSync(a.dataDir, { recursive: true, force: true });
    return round;
  } finally {
    await redis.stop();
  }
}

async function benchRecovery(): Promise<void> {
  const runs: RecoveryRound[] = [];
  for (let i = 0; i < ROUNDS; i += 1) {
    const r = await recoveryRound();
    runs.push(r);
    progress(
      `  recovery round ${i + 1}: ${r.good}/${r.total} good, resume p99 ${percentile(r.resumeMs, 99).toFixed(0)} ms over ${r.resumeMs.length} reconnects`,
    );
  }
  const shares = runs.map((r) => r.good / Math.max(1, r.total));
  const p99s = runs.map((r) => percentile(r.resumeMs, 99));
  const sum = (f: (r: RecoveryRound) => number) => runs.reduce((n, r) => n + f(r), 0);
  report({
    bench: 'realtime.recovery',
    // The worst round: one lost or duplicated publication in any round is a miss.
    ours: Number(Math.min(...shares).toFixed(5)),
    baseline: null,
    unit: 'share of acked publications received once, in order, or covered by a gap (worst round)',
    goal: 'share 1; resume p99 <= 1000 ms',
    better: 'higher',
    order: 'single',
    share_rounds: shares.map((x) => Number(x.toFixed(5))),
    resume_p99_ms: Number(median(p99s).toFixed(1)),
    resume_p99_rounds: p99s.map((x) => Number(x.toFixed(1))),
    resume_p50_ms: Number(median(runs.map((r) => percentile(r.resumeMs, 50))).toFixed(1)),
    not_connected_at_end: sum((r) => r.notConnected),
    reconnects: sum((r) => r.resumeMs.length),
    checked: sum((r) => r.total),
    out_of_order: sum((r) => r.outOfOrder),
    duplicates: sum((r) => r.duplicates),
    clients: RECOVERY_CLIENTS,
    rounds: ROUNDS,
  });
}

async function main(): Promise<void> {
  const only = process.env.BENCH_ONLY?.split(',');
  const suites: [string, () => Promise<void>][] = [
    ['fanout', benchFanout],
    ['memory', benchMemory],
    ['slow-consumer', benchSlowConsumer],
    ['recovery', benchRecovery],
  ];
  for (const [name, run] of suites) {
    if (only !== undefined && !only.includes(name)) continue;
    progress(`== realtime ${name}`);
    await run();
  }
  process.exit(0);
}

void main();
