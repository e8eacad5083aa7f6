import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildSync } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteJobQueue } from '../../main/batch';
import { systemClock } from '../../main/clock';
import { createLogger } from '../../main/logger';
import { Sagas, type Saga } from '../../main/sagas';
import { CRASH_TABLES, crashSaga } from './crash-saga';
import { openSagaDb, waitFor } from './fixtures';

const nodeModules = resolve(import.meta.dirname, '../../node_modules');

/** The worker bundled once into plain JavaScript, so each start costs Node's start-up and not a TypeScript transform. */
function bundleWorker(): { file: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'ph-saga-worker-'));
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

async function startWorker(script: string, path: string): Promise<{ child: ChildProcess; exited: Promise<void> }> {
  const child = fork(script, [path], {
    execArgv: [],
    env: { ...process.env, NODE_PATH: nodeModules },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  await new Promise<void>((ready, fail) => {
    child.once('message', () => ready());
    child.once('exit', (code, signal) => fail(new Error(`worker exited before ready (${code ?? signal})`)));
  });
  return { child, exited };
}

describe('a saga whose node is killed (-9) mid-step and mid-compensation', () => {
  let t: ReturnType<typeof openSagaDb>;
  let worker: { file: string; remove: () => void };
  let saga: Saga;
  const calls = (phase: string, step: string): number =>
    (t.db.prepare('SELECT count(*) AS n FROM saga_calls WHERE phase = ? AND step = ?').get(phase, step) as { n: number }).n;
  const pids = (phase: string, step: string): number =>
    (t.db.prepare('SELECT count(DISTINCT pid) AS n FROM saga_calls WHERE phase = ? AND step = ?').get(phase, step) as { n: number }).n;

  beforeAll(async () => {
    t = openSagaDb();
    t.db.exec(CRASH_TABLES);
    worker = bundleWorker();
    // The starting side only enqueues: the workers, killed one after another, run the saga.
    const producer = new SqliteJobQueue(t.db, systemClock, createLogger('silent'), null, { work: false });
    const sagas = new Sagas({ db: t.db, clock: systemClock, queue: producer, bus: null, logger: createLogger('silent') }).register(
      crashSaga(t.db),
    );
    const { id } = await sagas.start({ type: 'crash.saga' });

    // Killed in the middle of step two's action (each action takes 400 ms).
    const first = await startWorker(worker.file, t.path);
    await waitFor(() => calls('action', 'two') === 1, 15_000, 'step two to start');
    first.child.kill('SIGKILL');
    await first.exited;

    // The next one resumes at step two, fails at four, and is killed compensating step two.
    const second = await startWorker(worker.file, t.path);
    await waitFor(() => calls('compensation', 'two') === 1, 20_000, 'the compensation of step two to start');
    second.child.kill('SIGKILL');
    await second.exited;

    // The last one finishes the compensation.
    const last = await startWorker(worker.file, t.path);
    await waitFor(async () => ['compensated', 'stuck'].includes((await sagas.get(id)).state), 20_000, 'the saga to end');
    last.child.kill('SIGTERM');
    await last.exited;
    saga = await sagas.get(id);
  }, 90_000);
  afterAll(() => {
    worker?.remove();
    t?.close();
  });

  it('ends compensated, every completed step compensated once and newest first', () => {
    expect(saga.state).toBe('compensated');
    expect(saga.failure).toBe('four: four always fails');
    expect(saga.steps.map((s) => s.state)).toEqual(['compensated', 'compensated', 'compensated', 'failed']);
    const undone = t.db.prepare("SELECT step FROM saga_effects WHERE phase = 'compensation' ORDER BY rowid").all() as { step: string }[];
    expect(undone.map((r) => r.step)).toEqual(['three', 'two', 'one']);
    const compensatedAt = saga.steps.slice(0, 3).map((s) => Date.parse(s.compensatedAt ?? ''));
    expect(compensatedAt[2]).toBeLessThanOrEqual(compensatedAt[1] as number);
    expect(compensatedAt[1]).toBeLessThanOrEqual(compensatedAt[0] as number);
  });

  it('re-ran only the step and the compensation the kills cut short, on another process, with the same idempotency id', () => {
    expect(['one', 'two', 'three', 'four'].map((s) => calls('action', s))).toEqual([1, 2, 1, 1]);
    expect(['one', 'two', 'three'].map((s) => calls('compensation', s))).toEqual([1, 2, 1]);
    expect(pids('action', 'two')).toBe(2);
    expect(pids('compensation', 'two')).toBe(2);
    const two = saga.steps[1];
    expect(two).toMatchObject({ attempts: 2, compensationAttempts: 2, idempotencyId: `${saga.id}:two:action` });
    const effects = t.db.prepare("SELECT idempotency_id FROM saga_effects WHERE step = 'two' ORDER BY phase").all() as {
      idempotency_id: string;
    }[];
    expect(effects.map((e) => e.idempotency_id)).toEqual([`${saga.id}:two:action`, `${saga.id}:two:compensation`]);
  });
});
