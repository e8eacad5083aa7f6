/**
 * `npm run bench -- jobs`: the SQLite queue and the batch engine beside BullMQ and raw better-sqlite3,
 * in the same run, against a private redis-server. One JSON line per figure (bench/lib.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { BatchEngine, batchMigrations, ResourceRegistry, SqliteJobQueue, type BatchOp, type JobSpec } from '../../main/batch';
import { systemClock } from '../../main/clock';
import { createLogger } from '../../main/logger';
import { openStore } from '../../main/store';
import { startRedis, type TestRedis } from '../../test/helpers/redis-server';
import { compareRates, median, oursFirst, progress, report, rounds as atLeast, scaled } from '../lib';

const ROUNDS = atLeast(Number(process.env.BENCH_ROUNDS ?? 3));
const BULK = scaled(100_000, 1000);
const PROCESS_JOBS = scaled(10_000, 500);
const CONCURRENCY = 16;
const BATCH_OPS = scaled(10_000, 500);
const LATENCY_JOBS = scaled(300, 50);
/**
 * Completed-job retention, the same on both sides: `trim` keeps the newest 1,000 (BullMQ's
 * `removeOnComplete: { count: 1000 }`, trimmed as each job completes; ours' `keepCompletedCount`
 * 1,000, pruned every 250 ms so the trimming happens inside the timed run), `all` keeps every one.
 */
type Retention = 'trim' | 'all';
const KEEP = 1000;
const silent = createLogger('silent');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let dirs: string[] = [];
function freshDb() {
  const dir = mkdtempSync(join(tmpdir(), 'ph-bench-jobs-'));
  dirs.push(dir);
  return openStore({
    path: join(dir, 'pilothouse.db'),
    migrations: batchMigrations,
  });
}

let redis: TestRedis;
let client: Redis;
let round = 0;
const conn = () => new Redis(redis.url, { maxRetriesPerRequest: null });

async function flush(): Promise<void> {
  await client.flushall();
}

async function enqueueBulkOurs(): Promise<number> {
  const db = freshDb();
  const q = new SqliteJobQueue(db, systemClock, silent, null, { work: false });
  const specs: JobSpec[] = Array.from({ length: BULK }, (_, i) => ({
    type: 'bench',
    payload: { i },
  }));
  const t0 = performance.now();
  for (let i = 0; i < BULK; i += 10_000) await q.enqueueBulk(specs.slice(i, i + 10_000));
  const rate = BULK / ((performance.now() - t0) / 1000);
  db.close();
  return rate;
}

async function enqueueBulkBullmq(): Promise<number> {
  await flush();
  const c = conn();
  const queue = new Queue(`bench-${(round += 1)}`, { connection: c });
  const jobs = Array.from({ length: BULK }, (_, i) => ({
    name: 'bench',
    data: { i },
  }));
  const t0 = performance.now();
  for (let i = 0; i < BULK; i += 10_000) await queue.addBulk(jobs.slice(i, i + 10_000));
  const rate = BULK / ((performance.now() - t0) / 1000);
  await queue.close();
  c.disconnect();
  return rate;
}

/** Drains PROCESS_JOBS pre-enqueued 1 ms jobs at concurrency 16; returns jobs/s. */
async function processOurs(retention: Retention): Promise<number> {
  const db = freshDb();
  const q = new SqliteJobQueue(db, systemClock, silent, null, {
    pollMs: 50,
    ...(retention === 'trim'
      ? { pruneEveryMs: 250, prune: { keepCompletedCount: KEEP } }
      : { prune: { keepCompletedCount: 1_000_000_000 } }),
  });
  let done = 0;
  q.register(
    'bench',
    async () => {
      await sleep(1);
      done += 1;
    },
    { concurrency: CONCURRENCY },
  );
  await q.enqueueBulk(
    Array.from({ length: PROCESS_JOBS }, (_, i) => ({
      type: 'bench',
      payload: { i },
    })),
  );
  const t0 = performance.now();
  await q.start();
  while (done < PROCESS_JOBS) await sleep(5);
  const rate = PROCESS_JOBS / ((performance.now() - t0) / 1000);
  await q.stop();
  db.close();
  return rate;
}

async function processBullmq(retention: Retention): Promise<number> {
  await flush();
  const c = conn();
  const name = `bench-${(round += 1)}`;
  const queue = new Queue(name, { connection: c });
  const jobs = Array.from({ length: PROCESS_JOBS }, (_, i) => ({
    name: 'bench',
    data: { i },
    opts: { removeOnComplete: retention === 'trim' ? { count: KEEP } : false },
  }));
  for (let i = 0; i < PROCESS_JOBS; i += 10_000) await queue.addBulk(jobs.slice(i, i + 10_000));
  let done = 0;
  const t0 = performance.now();
  const worker = new Worker(
    name,
    async () => {
      await sleep(1);
      done += 1;
    },
    { connection: c, concurrency: CONCURRENCY },
  );
  while (done < PROCESS_JOBS) await sleep(5);
  const rate = PROCESS_JOBS / ((performance.now() - t0) / 1000);
  await worker.close();
  await queue.close();
  c.disconnect();
  return rate;
}

/** Enqueues LATENCY_JOBS jobs one at a time, 5 ms apart, into an idle worker; returns pick-up latencies (ms). */
async function latencyOurs(): Promise<number[]> {
  const db = freshDb();
  const q = new SqliteJobQueue(db, systemClock, silent, null, { pollMs: 50 });
  const lat: number[] = [];
  q.register('lat', (payload) => void lat.push(performance.now() - (payload as { t: number }).t), { concurrency: CONCURRENCY });
  await q.start();
  for (let i = 0; i < LATENCY_JOBS; i += 1) {
    await q.enqueue({ type: 'lat', payload: { t: performance.now() } });
    await sleep(5);
  }
  while (lat.length < LATENCY_JOBS) await sleep(5);
  await q.stop();
  db.close();
  return lat;
}

async function latencyBullmq(): Promise<number[]> {
  await flush();
  const c = conn();
  const name = `bench-${(round += 1)}`;
  const queue = new Queue(name, { connection: c });
  const lat: number[] = [];
  const worker = new Worker(name, async (job) => void lat.push(performance.now() - (job.data as { t: number }).t), {
    connection: c,
    concurrency: CONCURRENCY,
  });
  await worker.waitUntilReady();
  await sleep(200);
  for (let i = 0; i < LATENCY_JOBS; i += 1) {
    await queue.add('lat', { t: performance.now() });
    await sleep(5);
  }
  while (lat.length < LATENCY_JOBS) await sleep(5);
  await worker.close();
  await queue.close();
  c.disconnect();
  return lat;
}

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return Number((s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number).toFixed(2));
}

/** A 10,000-operation atomic batch through the engine (validator + handler per op, report, outbox). */
function atomicOurs(): number {
  const db = freshDb();
  db.exec('CREATE TABLE items (id TEXT PRIMARY KEY, n INTEGER NOT NULL)');
  const insert = db.prepare('INSERT INTO items (id, n) VALUES (?, ?)');
  const registry = new ResourceRegistry().register('item', {
    validators: {
      create: (op) => (typeof (op.data as { n: unknown }).n === 'number' ? null : 'n must be a number'),
    },
    handlers: {
      create: (op) => void insert.run(op.id, (op.data as { n: number }).n),
    },
  });
  const engine = new BatchEngine(db, registry, systemClock, silent);
  const ops: BatchOp[] = Array.from({ length: BATCH_OPS }, (_, i) => ({
    resource: 'item',
    action: 'create',
    id: `i${i}`,
    data: { n: i },
  }));
  const t0 = performance.now();
  const r = engine.applyAtomic({ mode: 'atomic', operations: ops });
  const rate = BATCH_OPS / ((performance.now() - t0) / 1000);
  if (r.status !== 'succeeded') throw new Error('atomic batch failed');
  db.close();
  return rate;
}

/** The same 10,000 inserts in one raw better-sqlite3 transaction (WAL, synchronous=NORMAL). */
function atomicRaw(): number {
  const dir = mkdtempSync(join(tmpdir(), 'ph-bench-raw-'));
  dirs.push(dir);
  const db = new BetterSqlite3(join(dir, 'raw.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE items (id TEXT PRIMARY KEY, n INTEGER NOT NULL)');
  const insert = db.prepare('INSERT INTO items (id, n) VALUES (?, ?)');
  const rows = Array.from({ length: BATCH_OPS }, (_, i) => ({
    id: `i${i}`,
    n: i,
  }));
  const t0 = performance.now();
  db.transaction(() => {
    for (const r of rows) insert.run(r.id, r.n);
  })();
  const rate = BATCH_OPS / ((performance.now() - t0) / 1000);
  db.close();
  return rate;
}

async function main(): Promise<void> {
  redis = await startRedis();
  client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  // PH_BENCH_ONLY=process,atomic runs a subset while iterating.
  const only = process.env.PH_BENCH_ONLY?.split(',');
  const want = (name: string) => only === undefined || only.includes(name);
  try {
    if (want('bulk')) {
      progress(`jobs.enqueue-bulk: ${BULK} jobs, ${ROUNDS} rounds`);
      const bulk = await compareRates(ROUNDS, enqueueBulkOurs, enqueueBulkBullmq);
      report({
        bench: 'jobs.enqueue-bulk',
        ours: Math.round(bulk.ours),
        baseline: Math.round(bulk.baseline),
        unit: 'jobs/s',
        goal: '>= 1',
        better: 'higher',
        order: bulk.order,
        rounds: bulk.rounds,
        baselineName: 'bullmq addBulk',
        oursRounds: bulk.oursRounds.map(Math.round),
        baselineRounds: bulk.baselineRounds.map(Math.round),
      });
    }
    if (want('process')) {
      progress(
        `jobs.process: ${PROCESS_JOBS} jobs of 1 ms at concurrency ${CONCURRENCY}, ${ROUNDS} rounds, newest ${KEEP} completed kept on both sides, then every completed job kept on both`,
      );
      const cpu0 = process.cpuUsage();
      const proc = await compareRates(
        ROUNDS,
        () => processOurs('trim'),
        () => processBullmq('trim'),
      );
      const cpu = process.cpuUsage(cpu0);
      const keepAll = await compareRates(
        ROUNDS,
        () => processOurs('all'),
        () => processBullmq('all'),
      );
      const oursLat: number[] = [];
      const bullLat: number[] = [];
      for (let i = 0; i < ROUNDS; i += 1) {
        if (oursFirst(i)) {
          oursLat.push(...(await latencyOurs()));
          bullLat.push(...(await latencyBullmq()));
        } else {
          bullLat.push(...(await latencyBullmq()));
          oursLat.push(...(await latencyOurs()));
        }
      }
      report({
        bench: 'jobs.process',
        ours: Math.round(proc.ours),
        baseline: Math.round(proc.baseline),
        unit: 'jobs/s',
        goal: '>= 0.8',
        better: 'higher',
        order: proc.order,
        rounds: proc.rounds,
        retention: `newest ${KEEP} completed jobs kept on both sides`,
        baselineName: 'bullmq Worker',
        p50_ms: pct(oursLat, 50),
        p99_ms: pct(oursLat, 99),
        baseline_p50_ms: pct(bullLat, 50),
        baseline_p99_ms: pct(bullLat, 99),
        bench_process_cpu_s: Number(((cpu.user + cpu.system) / 1e6).toFixed(2)),
        oursRounds: proc.oursRounds.map(Math.round),
        baselineRounds: proc.baselineRounds.map(Math.round),
      });
      report({
        bench: 'jobs.process-keep-all',
        ours: Math.round(keepAll.ours),
        baseline: Math.round(keepAll.baseline),
        unit: 'jobs/s',
        goal: '>= 0.8',
        better: 'higher',
        order: keepAll.order,
        rounds: keepAll.rounds,
        retention: 'every completed job kept on both sides (BullMQ removeOnComplete: false, its default)',
        baselineName: 'bullmq Worker',
        oursRounds: keepAll.oursRounds.map(Math.round),
        baselineRounds: keepAll.baselineRounds.map(Math.round),
      });
    }
    if (want('atomic')) {
      progress(`jobs.atomic-batch: ${BATCH_OPS} operations, ${ROUNDS * 3} rounds`);
      const batchRates = await compareRates(ROUNDS * 3, atomicOurs, atomicRaw);
      report({
        bench: 'jobs.atomic-batch',
        ours: Math.round(batchRates.ours),
        baseline: Math.round(batchRates.baseline),
        unit: 'ops/s',
        goal: '>= 0.5',
        better: 'higher',
        order: batchRates.order,
        rounds: batchRates.rounds,
        baselineName: 'raw better-sqlite3 transaction',
        median_check: Math.round(median(batchRates.oursRounds)),
      });
    }
  } finally {
    client.disconnect();
    await redis.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    dirs = [];
  }
}

void main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
