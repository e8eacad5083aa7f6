/**
 * `npm run bench -- webhooks`
 * - webhooks.delivery: deliveries/s to a local receiver (a child process answering 204): events
 *   published to one endpoint, each a delivery row, a `webhook.deliver` job on the SQLite queue, a
 *   signed POST and its logged attempt, vs a bare `fetch` loop POSTing the same bodies to the same
 *   receiver at the same concurrency (8) with keep-alive. Goal ratio ≥ 0.5.
 * - webhooks.delivery.endpoints: the same with 49 more endpoints registered for another event type,
 *   which every event is matched against (no goal of its own: how delivery holds as endpoints grow).
 * - ratelimit.overhead / ratelimit.overhead.redis: requests/s of a cheap route on a Pilothouse node
 *   (an operator key reading a small cached value, `GET /api/v2/cache/bench/status`) with the HTTP
 *   rate limit counting every request (in memory; in a private redis-server) vs the same node with
 *   it off. Goals ≥ 0.95 and ≥ 0.8.
 * - ratelimit.overhead.bare / ratelimit.overhead.bare.redis: the same hook on bare Fastify
 *   (limited-server.ts: one route, a fixed caller, nothing else), where a request costs a sixth of
 *   the node's: the limiter's cost against the least a request can cost, reported beside the node's
 *   figures (no goal of their own).
 *   Each round starts a fresh server of each side (a process's luck moves its figures by up to a sixth
 *   for its whole life on a shared machine), pinned to the last core while autocannon runs from this
 *   process on the first (bench/pinning.ts), alternating rounds.
 * PH_BENCH_SCALE shrinks a run (events and load seconds; rounds stay at least three) for a smoke check.
 */
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { SqliteJobQueue, batchMigrations } from '../../main/batch';
import { systemClock } from '../../main/clock';
import { EventBus } from '../../main/events';
import { createLogger } from '../../main/logger';
import { openStore } from '../../main/store';
import { WebhookService, webhooksMigrations } from '../../main/webhooks';
import { tempDir } from '../../test/helpers/temp-dir';
import { startBenchRedis } from '../cache/redis-process';
import { startChild } from '../child-line';
import { compareRates, progress, report, rounds, scaled } from '../lib';
import { compareOnOff, onOffFields, stopChild, type RoundServer } from '../load';
import { CHEAP_PATH } from './cheap-route';

const ROUNDS = 7;
/** Rounds of the overhead lines: their sides differ by a few percent, so they take more. */
const OVERHEAD_ROUNDS = rounds(Number(process.env.BENCH_ROUNDS ?? 11));
/** Seconds each round's fresh servers are loaded before they are measured (JIT, connections). */
const WARM_SECONDS = 2;
/** The bare-Fastify lines are context: issue #15's goals are stated for a cheap route of Pilothouse's, the lines without `.bare`. */
const BARE_GOAL = 'none (reported: the same hook on bare Fastify, beside the goals on the node)';
const LOAD_SECONDS = scaled(4);
const EVENTS = scaled(2000, 20);
const CONNECTIONS = 16;
/** Endpoints for other event types beside the one delivered to, in `webhooks.delivery.endpoints`. */
const OTHER_ENDPOINTS = 49;
const ENDPOINTS_GOAL =
  'none (reported: the delivery line with 49 endpoints for other events registered, which every event is matched against)';
const CONCURRENCY = 8;

/** A child server that prints its port. */
async function child(file: string, args: string[], pinned = false): Promise<{ port: number; proc: ChildProcess }> {
  const { line, proc } = await startChild(join(import.meta.dirname, file), args, pinned);
  return { port: Number(line), proc };
}

async function delivery(): Promise<void> {
  const receiver = await child('receiver-child.ts', []);
  const url = `http://127.0.0.1:${receiver.port}/hook`;
  const body = JSON.stringify({
    type: 'job.finished',
    timestamp: new Date(0).toISOString(),
    data: { id: 'x'.repeat(36), type: 'batch.apply', state: 'completed' },
  });

  const bare = async (): Promise<number> => {
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < EVENTS) {
          next += 1;
          const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, redirect: 'manual' });
          await res.arrayBuffer();
        }
      }),
    );
    return EVENTS / ((performance.now() - started) / 1000);
  };

  /** `others`: endpoints registered for another event type first, which every event is matched against. */
  const ours = async (others: number): Promise<number> => {
    const dir = tempDir('ph-bench-wh-');
    const db = openStore({ path: join(dir.path, 'pilothouse.db'), migrations: [...batchMigrations, ...webhooksMigrations] });
    const bus = new EventBus();
    const logger = createLogger('silent');
    const queue = new SqliteJobQueue(db, systemClock, logger, bus, { pruneEveryMs: 3_600_000 });
    const webhooks = new WebhookService({
      db,
      dataDir: dir.path,
      queue,
      bus,
      clock: systemClock,
      logger,
      ownPort: () => null,
      audit: () => undefined,
    });
    let delivered = 0;
    let finished: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (finished = resolve));
    bus.subscribe((m) => {
      if (m.event === 'webhooks.delivery' && m.payload.status === 'delivered' && ++delivered === EVENTS) finished();
    });
    await queue.start();
    await webhooks.start();
    for (let i = 0; i < others; i += 1) await webhooks.create({ url, eventTypes: ['backup.done'] }, 'bench');
    await webhooks.create({ url, eventTypes: ['job.finished'] }, 'bench');
    const started = performance.now();
    for (let i = 0; i < EVENTS; i += 1)
      await webhooks.publish({ type: 'job.finished', data: JSON.parse(body).data as Record<string, unknown> });
    await done;
    const rate = EVENTS / ((performance.now() - started) / 1000);
    await webhooks.stop();
    await queue.stop();
    db.close();
    dir.remove();
    return rate;
  };

  const line = async (bench: string, others: number, goal: string): Promise<void> => {
    const result = await compareRates(
      ROUNDS,
      async () => {
        const r = await ours(others);
        progress(`${bench} ours: ${Math.round(r)} deliveries/s`);
        return r;
      },
      async () => {
        const r = await bare();
        progress(`${bench} bare fetch: ${Math.round(r)} posts/s`);
        return r;
      },
    );
    report({
      bench,
      ours: Math.round(result.ours),
      baseline: Math.round(result.baseline),
      unit: 'deliveries/s',
      goal,
      better: 'higher',
      order: result.order,
      rounds: result.rounds,
      events_per_round: EVENTS,
      concurrency: CONCURRENCY,
      endpoints: others + 1,
      min: Math.round(Math.min(...result.oursRounds)),
      max: Math.round(Math.max(...result.oursRounds)),
    });
  };

  try {
    await bare();
    await line('webhooks.delivery', 0, '>= 0.5');
    await line('webhooks.delivery.endpoints', OTHER_ENDPOINTS, ENDPOINTS_GOAL);
  } finally {
    receiver.proc.kill('SIGTERM');
  }
}

/**
 * A Pilothouse node for one round, the HTTP rate limit `on` or `off`. On Redis each side has a
 * database of its own (the bench's private redis-server), emptied first: every round's node founds
 * a fleet of its own, as in memory.
 */
async function startNode(limit: 'on' | 'off', redisUrl?: string): Promise<RoundServer> {
  let args: string[] = [limit];
  if (redisUrl !== undefined) {
    const database = `${redisUrl}/${limit === 'on' ? 1 : 2}`;
    const redis = new Redis(database);
    await redis.flushdb();
    redis.disconnect();
    args = [limit, 'redis', database];
  }
  const { line, proc } = await startChild(join(import.meta.dirname, 'plane-server.ts'), args, true);
  const { port, key } = JSON.parse(line) as { port: number; key: string };
  return { port, pid: proc.pid as number, headers: { authorization: `Bearer ${key}` }, stop: () => stopChild(proc) };
}

/** A bare Fastify server (limited-server.ts) for one round, with the rate limit as `args` say (`memory`, `redis <url>`, `off`). */
async function startBare(args: string[]): Promise<RoundServer> {
  const { port, proc } = await child('limited-server.ts', args, true);
  return { port, pid: proc.pid as number, stop: () => stopChild(proc) };
}

async function overhead(bench: string, goal: string, route: string, start: (side: 'on' | 'off') => Promise<RoundServer>): Promise<void> {
  const shape = { path: route, connections: CONNECTIONS, seconds: LOAD_SECONDS, warmSeconds: WARM_SECONDS };
  report({ bench, unit: 'req/s', goal, ...onOffFields(await compareOnOff(bench, start, shape, OVERHEAD_ROUNDS), shape) });
}

void (async () => {
  await delivery();
  await overhead('ratelimit.overhead', '>= 0.95', CHEAP_PATH, (side) => startNode(side));
  await overhead('ratelimit.overhead.bare', BARE_GOAL, '/api/v2/cheap', (side) => startBare([side === 'on' ? 'memory' : 'off']));
  const redis = await startBenchRedis();
  try {
    await overhead('ratelimit.overhead.redis', '>= 0.8', CHEAP_PATH, (side) => startNode(side, redis.url));
    await overhead('ratelimit.overhead.bare.redis', BARE_GOAL, '/api/v2/cheap', (side) =>
      startBare(side === 'on' ? ['redis', redis.url] : ['off']),
    );
  } finally {
    await redis.stop();
  }
})();
