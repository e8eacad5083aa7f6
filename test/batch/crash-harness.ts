import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildSync } from 'esbuild';
import type { Database } from 'better-sqlite3';
import { SqliteJobQueue } from '../../main/batch';
import { systemClock } from '../../main/clock';
import { silent } from './fixtures';

export interface CrashOptions {
  readonly db: Database;
  readonly path: string;
  readonly jobs: number;
  readonly minKills: number;
  readonly concurrency: number;
  readonly jobMs: number;
  /** Kill this long (± a quarter) after each spawn, and at least half a second after it is ready. */
  readonly killEveryMs: number;
  /** Concurrency of the last worker, the one not killed. */
  readonly finalConcurrency: number;
  /** How long the last (unkilled) worker gets to finish the rest. */
  readonly finishWithinMs: number;
  readonly log?: (line: string) => void;
}

export interface CrashResult {
  kills: number;
  completed: number;
  notCompleted: number;
  stuckPastLease: number;
  starts: number;
  duplicateStarts: number;
  keyedJobs: number;
  duplicateEffects: number;
  missingEffects: number;
  elapsedMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Bundles the worker once into plain JavaScript, so each restart costs Node's start-up and not a
 * TypeScript transform too (about 1.2 s instead of 2.5 to 3.7 s on a loaded machine).
 */
function bundleWorker(): { file: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'ph-crash-worker-'));
  const file = join(dir, 'crash-worker.cjs');
  buildSync({
    entryPoints: [join(import.meta.dirname, 'crash-worker.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    outfile: file,
    external: ['better-sqlite3'],
    logLevel: 'error',
  });
  return { file, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

const nodeModules = resolve(import.meta.dirname, '../../node_modules');

function startWorker(
  script: string,
  path: string,
  concurrency: number,
): { child: ChildProcess; ready: Promise<void>; exited: Promise<void> } {
  const child = fork(script, [path, String(concurrency)], {
    execArgv: [],
    env: { ...process.env, NODE_PATH: nodeModules },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const ready = new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code, signal) => reject(new Error(`worker exited before ready (${code ?? signal})`)));
  });
  ready.catch(() => undefined);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { child, ready, exited };
}

/**
 * Enqueues `jobs` jobs (every other one with an idempotency key), then runs worker processes,
 * killing each with SIGKILL about every `killEveryMs` until `minKills` kills, and lets the last one
 * finish. Returns what the database says happened.
 */
export async function runCrashTest(o: CrashOptions): Promise<CrashResult> {
  const began = Date.now();
  const worker = bundleWorker();
  o.db.exec(`CREATE TABLE crash_starts (job_id INTEGER NOT NULL, at INTEGER NOT NULL, pid INTEGER NOT NULL);
             CREATE TABLE crash_effects (job_id INTEGER NOT NULL, key TEXT NOT NULL);`);
  const producer = new SqliteJobQueue(o.db, systemClock, silent, null, { work: false });
  await producer.enqueueBulk(
    Array.from({ length: o.jobs }, (_, i) => ({
      type: 'crash.work',
      payload: { ms: o.jobMs },
      attempts: 100,
      backoffMs: 10,
      ...(i % 2 === 0 ? { idempotencyKey: `crash-${i}` } : {}),
    })),
  );
  const remaining = () => (o.db.prepare("SELECT count(*) AS n FROM jobs WHERE state != 'completed'").get() as { n: number }).n;

  let kills = 0;
  while (kills < o.minKills) {
    const spawnedAt = Date.now();
    const w = startWorker(worker.file, o.path, o.concurrency);
    await w.ready;
    const killAt = Math.max(spawnedAt + o.killEveryMs * (0.75 + Math.random() * 0.5), Date.now() + 500);
    await sleep(killAt - Date.now());
    w.child.kill('SIGKILL');
    await w.exited;
    kills += 1;
    o.log?.(`kill ${kills}: ${remaining()} jobs left`);
  }
  const last = startWorker(worker.file, o.path, o.finalConcurrency);
  const lastStarted = Date.now();
  last.child.once('exit', (code, signal) =>
    o.log?.(`last worker exited (${code ?? signal}) after ${Date.now() - lastStarted} ms with ${remaining()} jobs left`),
  );
  await last.ready;
  const deadline = Date.now() + o.finishWithinMs;
  while (remaining() > 0 && Date.now() < deadline) await sleep(100);
  last.child.kill('SIGTERM');
  await last.exited;
  worker.remove();

  const now = Date.now();
  const one = (sql: string, ...args: unknown[]) => (o.db.prepare(sql).get(...args) as { n: number }).n;
  const starts = one('SELECT count(*) AS n FROM crash_starts');
  const startedJobs = one('SELECT count(DISTINCT job_id) AS n FROM crash_starts');
  return {
    kills,
    completed: one("SELECT count(*) AS n FROM jobs WHERE state = 'completed'"),
    notCompleted: remaining(),
    stuckPastLease: one("SELECT count(*) AS n FROM jobs WHERE state = 'active' AND lease_until < ?", now),
    starts,
    duplicateStarts: starts - startedJobs,
    keyedJobs: one('SELECT count(*) AS n FROM jobs WHERE idempotency_key IS NOT NULL'),
    duplicateEffects: one('SELECT count(*) AS n FROM (SELECT key FROM crash_effects GROUP BY key HAVING count(*) > 1)'),
    missingEffects: one(
      'SELECT count(*) AS n FROM jobs j WHERE j.idempotency_key IS NOT NULL AND NOT EXISTS (SELECT 1 FROM crash_effects e WHERE e.key = j.idempotency_key)',
    ),
    elapsedMs: Date.now() - began,
  };
}
