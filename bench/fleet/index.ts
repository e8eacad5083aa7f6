// `npm run bench -- fleet`: three real node processes (the headless entry) on one private
// redis-server, driven over HTTP and WebSocket from this process. One JSON line per figure on stdout.
import { performance } from 'node:perf_hooks';
import { progress, report } from '../lib';
import { startFleet, type FleetNode } from '../../test/fleet/helpers';
import { RawClient } from '../../test/realtime/helpers';

const OVERWRITES = Number(process.env.BENCH_FLEET_OVERWRITES ?? 300);
const PUBLISH_SECONDS = Number(process.env.BENCH_FLEET_SECONDS ?? 10);
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
async function invalidation(writer: FleetNode, readers: readonly FleetNode[]): Promise<void> {
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
  report({
    bench: 'fleet.invalidation',
    ours: round2(percentile(times, 99)),
    baseline: null,
    unit: 'ms (p99, write start to both other nodes serving it)',
    goal: '<= 25',
    better: 'lower',
    order: 'single',
    p50_ms: round2(percentile(times, 50)),
    max_ms: round2(Math.max(...times)),
    overwrites: OVERWRITES,
    reads,
  });
}

/**
 * fleet.publish: publishers on node 1 send 200 messages/s to one room; subscribers on nodes 2 and 3
 * (ours) and on node 1 itself (baseline, the same run) record how long each message took.
 */
async function publish(nodes: readonly FleetNode[]): Promise<void> {
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
  const ours = percentile(remote, 99);
  const baseline = percentile(local, 99);
  report({
    bench: 'fleet.publish',
    ours: round2(ours),
    baseline: round2(baseline),
    unit: 'ms (p99, publish to a client on another node; baseline: a client on the publishing node)',
    goal: 'ratio >= 0.67',
    better: 'lower',
    order: 'same messages: every message reaches the local and the remote clients at once',
    p50_ms: round2(percentile(remote, 50)),
    baseline_p50_ms: round2(percentile(local, 50)),
    sent: total,
    received_remote: remote.length,
    received_local: local.length,
  });
}

async function main(): Promise<void> {
  const fleet = await startFleet(3);
  try {
    const [n1, n2, n3] = fleet.nodes as [FleetNode, FleetNode, FleetNode];
    await invalidation(n3, [n1, n2]);
    await publish([n1, n2, n3]);
  } finally {
    await fleet.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
