// `npm run bench -- fleet`: three real node processes (the headless entry) on one private
// redis-server, driven over HTTP and WebSocket from this process. One JSON line per figure on stdout.
import { performance } from 'node:perf_hooks';
import { median, progress, report, rounds, scaled } from '../lib';
import { startFleet, type FleetNode } from '../../test/fleet/helpers';
import { RawClient } from '../../test/realtime/helpers';
import { killResume, type KillResumeRound } from './kill-resume';

const OVERWRITES = scaled(Number(process.env.BENCH_FLEET_OVERWRITES ?? 300), 20);
const PUBLISH_SECONDS = scaled(Number(process.env.BENCH_FLEET_SECONDS ?? 10), 2);
/** Rounds of the two figures; the order of the two switches every round. */
const ROUNDS = rounds(Number(process.env.BENCH_FLEET_ROUNDS ?? 3));
/** Clients on the node that fleet.kill-resume kills. */
const KILL_CLIENTS = scaled(Number(process.env.BENCH_FLEET_KILL_CLIENTS ?? 1000), 20);
const RATE = 200;
/** The hub limits each connection to 100 messages/s: the rate is spread over this many publishers. */
const PUBLISHERS = 4;

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

const round2 = (n: number): number => Math.round(n * 100) / 100;

/**
 * fleet.invalidation: node 3 overwrites one key; two readers (one on node 1, one on node 2) read it
 * in a loop all along, so each holds the previous value in L1 when the overwrite lands. The time is
 * from the start of the PUT until both nodes have served the new value.
 */
interface InvalidationRound {
  readonly p99: number;
  readonly p50: number;
  readonly max: number;
  readonly reads: number;
}

async function invalidation(writer: FleetNode, readers: readonly FleetNode[]): Promise<InvalidationRound> {
  progress(`fleet.invalidation: ${OVERWRITES} overwrites on ${writer.name}, readers on ${readers.map((r) => r.name).join(', ')}`);
  const path = '/api/v2/cache/bench/hot';
  await writer.request('PUT', path, { value: -1, ttl: 600_000 });
  let target = -1;
  let writtenAt = 0;
  const servedAt = new Map<FleetNode, number>();
  let allServed: () => void = () => undefined;
  let running = true;
  let reads = 0;
  const loops = readers.map(async (node) => {
    while (running) {
      const res = await node.request('GET', path);
      reads += 1;
      if (res.status === 200 && res.body.value === target && !servedAt.has(node)) {
        servedAt.set(node, performance.now());
        if (servedAt.size === readers.length) allServed();
      }
    }
  });
  const times: number[] = [];
  for (let i = 0; i < OVERWRITES; i += 1) {
    servedAt.clear();
    const served = new Promise<void>((resolve) => {
      allServed = resolve;
    });
    writtenAt = performance.now();
    target = i;
    await writer.request('PUT', path, { value: i, ttl: 600_000 });
    await served;
    times.push(Math.max(...[...servedAt.values()].map((t) => t - writtenAt)));
  }
  running = false;
  await Promise.all(loops);
  return { p99: percentile(times, 99), p50: percentile(times, 50), max: Math.max(...times), reads };
}

/**
 * fleet.publish: publishers on node 1 send 200 messages/s to one room; subscribers on nodes 2 and 3
 * (ours) and on node 1 itself (baseline, the same run) record how long each message took.
 */
interface PublishRound {
  readonly p99: number;
  readonly p50: number;
  readonly baselineP99: number;
  readonly baselineP50: number;
  readonly sent: number;
  readonly receivedRemote: number;
  readonly receivedLocal: number;
}

async function publish(nodes: readonly FleetNode[]): Promise<PublishRound> {
  const [n1, n2, n3] = nodes as [FleetNode, FleetNode, FleetNode];
  progress(`fleet.publish: ${RATE} msg/s for ${PUBLISH_SECONDS} s from ${n1.name}`);
  const room = 'bench-fleet';
  const local: number[] = [];
  const remote: number[] = [];
  const subscribers: RawClient[] = [];
  for (const [node, into] of [
    [n1, local],
    [n2, remote],
    [n3, remote],
  ] as const) {
    const client = await RawClient.connect(node.wsUrl, node.adminKey);
    await client.request({ type: 'subscribe', room });
    client.ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as { type: string; data?: { t?: number } };
      if (frame.type === 'message' && typeof frame.data?.t === 'number') into.push(performance.now() - frame.data.t);
    });
    subscribers.push(client);
  }
  const publishers = await Promise.all(Array.from({ length: PUBLISHERS }, () => RawClient.connect(n1.wsUrl, n1.adminKey)));
  const total = RATE * PUBLISH_SECONDS;
  const start = performance.now();
  for (let i = 0; i < total; i += 1) {
    const due = start + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    publishers[i % PUBLISHERS]!.send({ type: 'publish', room, data: { t: performance.now(), i } });
  }
  const deadline = Date.now() + 5_000;
  while ((local.length < total || remote.length < 2 * total) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  for (const c of [...subscribers, ...publishers]) c.close();
  return {
    p99: percentile(remote, 99),
    p50: percentile(remote, 50),
    baselineP99: percentile(local, 99),
    baselineP50: percentile(local, 50),
    sent: total,
    receivedRemote: remote.length,
    receivedLocal: local.length,
  };
}

async function main(): Promise<void> {
  const fleet = await startFleet(3);
  const inv: InvalidationRound[] = [];
  const pub: PublishRound[] = [];
  const kills: KillResumeRound[] = [];
  try {
    const [n1, n2, n3] = fleet.nodes as [FleetNode, FleetNode, FleetNode];
    for (let round = 0; round < ROUNDS; round += 1) {
      progress(`round ${round + 1} of ${ROUNDS}`);
      // The order of the two switches every round, so neither always inherits the other's warm machine.
      const steps = [async () => void inv.push(await invalidation(n3, [n1, n2])), async () => void pub.push(await publish([n1, n2, n3]))];
      for (const step of round % 2 === 0 ? steps : steps.reverse()) await step();
    }
    // Last, since each round kills a node (started again after it): the others' figures stay on a steady fleet.
    for (let round = 0; round < ROUNDS; round += 1) {
      kills.push(await killResume(n3, [n1, n2], KILL_CLIENTS));
      await n3.restart();
    }
  } finally {
    await fleet.stop();
  }
  const order = `alternating: the two figures switch order every round, ${ROUNDS} rounds, median of the rounds' p99`;
  report({
    bench: 'fleet.invalidation',
    ours: round2(median(inv.map((r) => r.p99))),
    baseline: null,
    unit: 'ms (p99, write start to both other nodes serving it)',
    goal: '<= 25',
    better: 'lower',
    order,
    rounds: ROUNDS,
    p99_rounds_ms: inv.map((r) => round2(r.p99)),
    p50_ms: round2(median(inv.map((r) => r.p50))),
    max_ms: round2(Math.max(...inv.map((r) => r.max))),
    overwrites: OVERWRITES,
    reads: inv.reduce((n, r) => n + r.reads, 0),
  });
  report({
    bench: 'fleet.publish',
    ours: round2(median(pub.map((r) => r.p99))),
    baseline: round2(median(pub.map((r) => r.baselineP99))),
    unit: 'ms (p99, publish to a client on another node; baseline: a client on the publishing node)',
    goal: 'ratio >= 0.67',
    better: 'lower',
    order: `${order}; within a round every message reaches the local and the remote clients at once`,
    rounds: ROUNDS,
    p99_rounds_ms: pub.map((r) => round2(r.p99)),
    p50_ms: round2(median(pub.map((r) => r.p50))),
    baseline_p50_ms: round2(median(pub.map((r) => r.baselineP50))),
    sent: pub.reduce((n, r) => n + r.sent, 0),
    received_remote: pub.reduce((n, r) => n + r.receivedRemote, 0),
    received_local: pub.reduce((n, r) => n + r.receivedLocal, 0),
  });
  report({
    bench: 'fleet.kill-resume',
    ours: round2(median(kills.map((r) => r.seconds))),
    baseline: null,
    unit: 's (kill -9 of one node of three until all its clients resumed on the other two)',
    goal: '<= 5, with 0 unsignalled losses and 0 duplicates',
    better: 'lower',
    order: `single: ${ROUNDS} kills of the same node (started again between), after the other figures; median of the rounds`,
    rounds: ROUNDS,
    seconds_rounds: kills.map((r) => round2(r.seconds)),
    clients: KILL_CLIENTS,
    unsignalled_losses: kills.reduce((n, r) => n + r.unsignalledLosses, 0),
    duplicates: kills.reduce((n, r) => n + r.duplicates, 0),
    signalled_gaps: kills.reduce((n, r) => n + r.signalledGaps, 0),
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
