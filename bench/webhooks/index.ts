/**
 * `npm run bench -- webhooks`
 * - webhooks.delivery: deliveries/s to a local receiver (a child process answering 204): events
 *   published to one endpoint, each a delivery row, a `webhook.deliver` job on the SQLite queue, a
 *   signed POST and its logged attempt, vs a bare `fetch` loop POSTing the same bodies to the same
 *   receiver at the same concurrency (8) with keep-alive. Goal ratio ≥ 0.5.
 * - ratelimit.overhead / ratelimit.overhead.redis: requests/s of a cheap route with the rate limit
 *   counting every request (in memory; in a private redis-server) vs without it, autocannon against
 *   a child-process server, alternating rounds. Goals ≥ 0.95 and ≥ 0.8.
 * PH_BENCH_SCALE shrinks a run (events and load seconds; rounds stay at least three) for a smoke check.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { SqliteJobQueue, batchMigrations } from '../../main/batch';
import { systemClock } from '../../main/clock';
import { EventBus } from '../../main/events';
import { createLogger } from '../../main/logger';
import { openStore } from '../../main/store';
import { WebhookService, webhooksMigrations } from '../../main/webhooks';
import { tempDir } from '../../test/helpers/temp-dir';
import { startBenchRedis } from '../cache/redis-process';
import { compareRates, median, progress, report, scaled } from '../lib';
import { compareOnOff } from '../load';

const ROUNDS = 5;
const LOAD_SECONDS = scaled(4);
const EVENTS = scaled(2000, 20);
const CONNECTIONS = 16;
const CONCURRENCY = 8;

async function child(file: string, args: string[]): Promise<{ port: number; proc: ChildProcess }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, file), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    proc.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) resolve(Number(out.split('\n')[0]));
    });
    proc.once('exit', (code) => reject(new Error(`${file} exited with ${code}`)));
  });
  return { port, proc };
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

  const ours = async (): Promise<number> => {
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

  try {
    await bare();
    const result = await compareRates(
      ROUNDS,
      async () => {
        const r = await ours();
        progress(`webhooks.delivery ours: ${Math.round(r)} deliveries/s`);
        return r;
      },
      async () => {
        const r = await bare();
        progress(`webhooks.delivery bare fetch: ${Math.round(r)} posts/s`);
        return r;
      },
    );
    report({
      bench: 'webhooks.delivery',
      ours: Math.round(result.ours),
      baseline: Math.round(result.baseline),
      unit: 'deliveries/s',
      goal: '>= 0.5',
      better: 'higher',
      order: result.order,
      rounds: result.rounds,
      events_per_round: EVENTS,
      concurrency: CONCURRENCY,
      min: Math.round(Math.min(...result.oursRounds)),
      max: Math.round(Math.max(...result.oursRounds)),
    });
  } finally {
    receiver.proc.kill('SIGTERM');
  }
}

async function overhead(bench: string, goal: string, args: string[]): Promise<void> {
  const on = await child('limited-server.ts', args);
  const off = await child('limited-server.ts', ['off']);
  try {
    const result = await compareOnOff(
      bench,
      { on: on.port, off: off.port },
      { path: '/api/v2/cheap', connections: CONNECTIONS, seconds: LOAD_SECONDS },
      ROUNDS,
    );
    const { p99, perCpu, errors } = result;
    report({
      bench,
      ours: Math.round(result.ours),
      baseline: Math.round(result.baseline),
      unit: 'req/s',
      goal,
      better: 'higher',
      order: result.order,
      rounds: result.rounds,
      seconds_per_round: LOAD_SECONDS,
      connections: CONNECTIONS,
      cpu_ratio: Number((median(perCpu.on) / median(perCpu.off)).toFixed(3)),
      // Each round's two sides run back to back: the median of their ratios shrugs off the machine's slow swings,
      // which move whole rounds (the recorded `off` rounds ranged over half their median on a shared machine).
      paired_ratio: Number(median(result.oursRounds.map((on, i) => on / (result.baselineRounds[i] as number))).toFixed(3)),
      p99_ms_on: median(p99.on),
      p99_ms_off: median(p99.off),
      errors,
      min: Math.round(Math.min(...result.oursRounds)),
      max: Math.round(Math.max(...result.oursRounds)),
    });
  } finally {
    on.proc.kill('SIGTERM');
    off.proc.kill('SIGTERM');
  }
}

void (async () => {
  await delivery();
  await overhead('ratelimit.overhead', '>= 0.95', ['memory']);
  const redis = await startBenchRedis();
  try {
    await overhead('ratelimit.overhead.redis', '>= 0.8', ['redis', redis.url]);
  } finally {
    await redis.stop();
  }
})();
