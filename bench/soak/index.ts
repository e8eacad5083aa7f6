import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startBenchRedis } from '../cache/redis-process';
import { progress, report, SCALE } from '../lib';

/**
 * The soak (issue 21): a steady mixed load against one real node on Redis for `SOAK_BENCH_MINUTES`
 * (default 10) — cache reads and writes over 5,000 keys, `batch.apply` jobs, publishes, 20 service
 * instances checked every second, a snapshot and verify of the node's own database every 2 minutes —
 * then, after a warm-up of a fifth of the run, the slope per minute of RSS, heap, fds, the database
 * file, the backup folder and Redis memory, and the cache's HTTP p99 with and without a snapshot
 * running. `PH_BENCH_SCALE` scales the request rates (not the minutes).
 */
const MINUTES = Number(process.env.SOAK_BENCH_MINUTES ?? '10');
const DURATION_MS = Math.max(1, MINUTES) * 60_000;
const WARMUP_MS = DURATION_MS / 5;
const SNAPSHOT_EVERY_MS = Math.min(120_000, DURATION_MS / 5);
const RATES = { cache: 200 * SCALE, batch: 20 * SCALE, publish: 50 * SCALE };
const KEYS = 5000;
const INSTANCES = 20;
const MB = 1024 * 1024;

interface Sample {
  at: number;
  rss: number;
  heapUsed: number;
  fds: number;
  db: number;
  backups: number;
  redis: number;
}

function folderBytes(path: string): number {
  let total = 0;
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const full = join(path, entry.name);
    try {
      total += entry.isDirectory() ? folderBytes(full) : statSync(full).size;
    } catch {
      // A temp file that went between the listing and the stat.
    }
  }
  return total;
}

/** Least-squares slope of `value` per minute over the samples. */
function slopePerMinute(samples: readonly Sample[], value: (s: Sample) => number): number {
  const n = samples.length;
  if (n < 2) return 0;
  const xs = samples.map((s) => s.at / 60_000);
  const ys = samples.map(value);
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i += 1) {
    num += ((xs[i] as number) - mx) * ((ys[i] as number) - my);
    den += ((xs[i] as number) - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

function p99(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] as number;
}

async function startChild(
  dataDir: string,
  redisUrl: string,
): Promise<{ child: ChildProcess; url: string; adminKey: string; node: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', resolve(import.meta.dirname, 'plane-child.ts')], {
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    env: { ...process.env, PH_SOAK_DIR: dataDir, PH_SOAK_REDIS: redisUrl, PH_SOAK_SECRET: randomBytes(32).toString('hex') },
  });
  const first = await new Promise<string>((done, fail) => {
    let buffered = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      if (buffered.includes('\n')) done(buffered.split('\n')[0] as string);
    });
    child.on('exit', (code) => fail(new Error(`the node exited with ${code} before it started`)));
  });
  return { child, ...(JSON.parse(first) as { url: string; adminKey: string; node: string }) };
}

function sampleChild(child: ChildProcess): Promise<{ rss: number; heapUsed: number; fds: number; breakerOpens: number }> {
  return new Promise((done) => {
    child.once('message', (m) => done(m as { rss: number; heapUsed: number; fds: number; breakerOpens: number }));
    child.send('sample');
  });
}

async function main(): Promise<void> {
  const redis = await startBenchRedis();
  const dataDir = mkdtempSync(join(tmpdir(), 'ph-bench-soak-'));
  const node = await startChild(dataDir, redis.url);
  const health = createServer((_req, res) => res.writeHead(200).end('ok'));
  await new Promise<void>((done) => health.listen(0, '127.0.0.1', done));
  const healthPort = (health.address() as { port: number }).port;
  const op = async (name: string, input: unknown, key = node.adminKey): Promise<{ status: number; body: any }> => {
    const res = await fetch(`${node.url}/api/v2/ops/${name}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify(input),
    });
    return { status: res.status, body: await res.json() };
  };
  const program = (await op('keys.create', { name: 'soak program', role: 'operator' })).body.secret as string;
  for (let i = 0; i < INSTANCES; i += 1) {
    await op('services.register', {
      id: `soak-${i}`,
      name: 'soak-svc',
      address: '127.0.0.1',
      port: healthPort,
      checks: [{ kind: 'http', url: `http://127.0.0.1:${healthPort}/health`, intervalMs: 1000 }],
    });
  }
  const sources = (await op('backup.sources.list', {})).body.sources as { id: string; kind: string }[];
  const appSource = sources.find((s) => s.kind === 'app')?.id;

  const started = Date.now();
  let snapshotRunning = false;
  let errors = 0;
  /** Failures by operation and status (or `fetch` when the request did not get through). */
  const failures = new Map<string, number>();
  const failed = (what: string): void => {
    errors += 1;
    failures.set(what, (failures.get(what) ?? 0) + 1);
  };
  let inflight = 0;
  const latencies: { ms: number; snapshot: boolean; at: number }[] = [];
  const fire = (name: string, input: unknown, timed: boolean): void => {
    if (inflight > 500) return; // the node is not keeping up: do not pile more on
    inflight += 1;
    const during = snapshotRunning;
    const t0 = performance.now();
    void op(name, input, program)
      .then((r) => {
        if (r.status >= 500) failed(`${name} ${r.status} ${String(r.body?.error?.code ?? '')}`);
        if (timed) latencies.push({ ms: performance.now() - t0, snapshot: during || snapshotRunning, at: Date.now() - started });
      })
      .catch(() => failed(`${name} fetch`))
      .finally(() => (inflight -= 1));
  };
  // Fractions of a request per 100 ms tick carry over, so low scaled rates still fire.
  const owed = { cache: 0, batch: 0, publish: 0 };
  const load = setInterval(() => {
    owed.cache += RATES.cache / 10;
    owed.batch += RATES.batch / 10;
    owed.publish += RATES.publish / 10;
    for (; owed.cache >= 1; owed.cache -= 1) {
      const key = `k${Math.floor(Math.random() * KEYS)}`;
      if (Math.random() < 0.5) fire('cache.put', { namespace: 'soak', key, value: { at: Date.now(), pad: 'x'.repeat(200) } }, true);
      else fire('cache.get', { namespace: 'soak', key }, true);
    }
    for (; owed.batch >= 1; owed.batch -= 1) {
      const id = randomUUID();
      const data = { collection: 'soak', n: Math.random() };
      const operations = [
        { resource: 'record', action: 'create', id, data },
        { resource: 'record', action: 'delete', id, data },
      ];
      fire('jobs.enqueue', { type: 'batch.apply', payload: { mode: 'atomic', operations } }, false);
    }
    for (; owed.publish >= 1; owed.publish -= 1) fire('realtime.publish', { room: 'soak', data: { at: Date.now() } }, false);
  }, 100);

  let snapshotDone: Promise<void> = Promise.resolve();
  const snapshots = setInterval(() => {
    if (appSource === undefined || snapshotRunning) return;
    snapshotRunning = true;
    snapshotDone = (async () => {
      const snap = await op('backup.snapshot', { id: appSource });
      if (snap.status !== 200) return failed(`backup.snapshot ${snap.status} ${String(snap.body?.error?.code ?? '')}`);
      const verified = await op('backup.verify', { id: snap.body.snapshot.id });
      if (verified.status !== 200 || verified.body.verification.ok !== true) failed(`backup.verify ${verified.status}`);
    })()
      .catch(() => failed('backup.snapshot fetch'))
      .finally(() => (snapshotRunning = false));
  }, SNAPSHOT_EVERY_MS);

  const samples: Sample[] = [];
  const redisClient = redis.client();
  let breakerOpens = 0;
  while (Date.now() - started < DURATION_MS) {
    await new Promise((r) => setTimeout(r, 5000));
    const child = await sampleChild(node.child);
    breakerOpens = child.breakerOpens;
    const info = await redisClient.info('memory');
    const redisBytes = Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
    const dbFile = join(dataDir, 'pilothouse.db');
    const size = (p: string): number => {
      try {
        return statSync(p).size;
      } catch {
        return 0;
      }
    };
    samples.push({
      at: Date.now() - started,
      rss: child.rss,
      heapUsed: child.heapUsed,
      fds: child.fds,
      db: size(dbFile) + size(`${dbFile}-wal`),
      backups: folderBytes(join(dataDir, 'backups')),
      redis: redisBytes,
    });
    progress(
      `soak ${Math.round((Date.now() - started) / 1000)} s: rss ${Math.round(child.rss / MB)} MB, db ${(samples.at(-1)?.db ?? 0) / MB} MB`,
    );
  }
  clearInterval(load);
  clearInterval(snapshots);
  // Let what is in flight finish before the node stops, so no request fails for the stop.
  await snapshotDone;
  for (const deadline = Date.now() + 30_000; inflight > 0 && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 50));
  if (failures.size > 0) progress(`failures: ${JSON.stringify(Object.fromEntries(failures))}`);
  const steady = samples.filter((s) => s.at >= WARMUP_MS);
  const slopes = {
    rss_mb: slopePerMinute(steady, (s) => s.rss / MB),
    heap_mb: slopePerMinute(steady, (s) => s.heapUsed / MB),
    fds: slopePerMinute(steady, (s) => s.fds),
    db_mb: slopePerMinute(steady, (s) => s.db / MB),
    backups_mb: slopePerMinute(steady, (s) => s.backups / MB),
    redis_mb: slopePerMinute(steady, (s) => s.redis / MB),
  };
  const after = latencies.filter((l) => l.at >= WARMUP_MS);
  const withSnapshot = p99(after.filter((l) => l.snapshot).map((l) => l.ms));
  const without = p99(after.filter((l) => !l.snapshot).map((l) => l.ms));
  const common = { order: 'single', minutes: MINUTES, scale: SCALE, errors, slopes_per_minute: slopes };
  report({ bench: 'soak.db-growth', ours: Number(slopes.db_mb.toFixed(3)), unit: 'MB/min', goal: '<= 0.1', better: 'lower', ...common });
  report({
    bench: 'soak.snapshot-p99',
    ours: Number(withSnapshot.toFixed(2)),
    baseline: Number(without.toFixed(2)),
    unit: 'ms',
    goal: '>= 0.67',
    better: 'lower',
    breaker_opens: breakerOpens,
    ...common,
  });
  report({ bench: 'soak.rss-slope', ours: Number(slopes.rss_mb.toFixed(3)), unit: 'MB/min', goal: '<= 0.5', better: 'lower', ...common });

  await new Promise<void>((done) => {
    node.child.once('exit', () => done());
    node.child.kill('SIGTERM');
  });
  health.close();
  redisClient.disconnect();
  await redis.stop();
}

main().catch((err: unknown) => {
  progress(`soak failed: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
