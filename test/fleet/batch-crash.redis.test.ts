import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_FLEET_SECRET } from '../helpers/fleet-secret';
import { freePort, startRedis, type TestRedis } from '../helpers/redis-server';
import { tempDir } from '../helpers/temp-dir';
import { until } from '../helpers/until';
import { startNode, type JobsNode } from './jobs-nodes';

const root = resolve(import.meta.dirname, '../..');
const JOBS = 30;
const FILLER = 400;

/** A real node process (`main/headless.ts`) on the fleet's Redis; SIGKILL leaves it no chance to tidy up. */
/** `key` is an admin key of the fleet: the node joins a fleet that has keys, so it makes no admin.key of its own. */
async function launch(dataDir: string, redisUrl: string, key: string): Promise<{ child: ChildProcess; url: string; key: string }> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(root, 'main/headless.ts'), '--port', String(port), '--data-dir', dataDir, '--redis-url', redisUrl],
    {
      cwd: root,
      env: { ...process.env, PILOTHOUSE_LOG_LEVEL: 'error', PILOTHOUSE_FLEET_SECRET: TEST_FLEET_SECRET },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  await until(() => out.includes('Press Ctrl+C'), 60_000, 'the node process to start');
  return { child, url: `http://127.0.0.1:${port}`, key };
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  await new Promise<void>((r) => {
    child.once('exit', () => r());
    child.kill('SIGKILL');
  });
}

describe('a batch job whose node dies', () => {
  let redis: TestRedis;
  let observer: JobsNode;
  const dir = tempDir('ph-crash-node-');
  let child: ChildProcess | null = null;

  beforeAll(async () => {
    redis = await startRedis();
    observer = await startNode(redis.url);
  });
  afterAll(async () => {
    if (child !== null) await kill(child);
    await observer.remove();
    await redis.stop();
    dir.remove();
  }, 60_000);

  it('killed (SIGKILL) twice while its batch.apply jobs run: none lost, none applied twice, none run elsewhere', async () => {
    let node = await launch(dir.path, redis.url, observer.adminKey);
    child = node.child;
    const op = async (name: string, input: unknown) => {
      const res = await fetch(`${node.url}/api/v2/ops/${name}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${node.key}` },
        body: JSON.stringify(input),
      });
      return (await res.json()) as any;
    };
    const seed = Array.from({ length: JOBS }, (_, i) => ({
      resource: 'record',
      action: 'create',
      id: `r-${i}`,
      data: { collection: 'c' },
    }));
    expect((await op('batch.submit', { batch: { mode: 'atomic', operations: seed } })).report.status).toBe('succeeded');
    const ids: string[] = [];
    for (let i = 0; i < JOBS; i += 1) {
      // Non-atomic and long enough (401 operations, each committed on its own) for a kill to land mid-batch or just after it.
      const filler = Array.from({ length: FILLER }, (_, k) => ({
        resource: 'record',
        action: 'create',
        id: `f-${i}-${k}`,
        data: { collection: 'f' },
      }));
      const batch = {
        mode: 'non-atomic',
        operations: [{ resource: 'record', action: 'update', id: `r-${i}`, data: { collection: 'c', i } }, ...filler],
      };
      ids.push((await op('batch.submit', { batch, background: true })).jobId);
    }
    const completed = async () => {
      const states = await Promise.all(ids.map(async (id) => (await observer.op('jobs.get', { id })).body.job?.state));
      return states.filter((s) => s === 'completed').length;
    };
    for (const after of [5, 15]) {
      await until(async () => (await completed()) >= after, 30_000, `${after} jobs completed`);
      await kill(node.child);
      expect(await completed()).toBeLessThan(JOBS); // the kill landed while jobs were still to run
      // While the node is down, its jobs wait for it: the observer node never takes them.
      node = await launch(dir.path, redis.url, observer.adminKey);
      child = node.child;
    }
    await until(async () => (await completed()) === JOBS, 60_000, 'every job completed after the restarts');
    for (const id of ids) {
      const job = (await observer.op('jobs.get', { id })).body.job;
      expect(job.result).toMatchObject({ status: 'succeeded', counts: { succeeded: FILLER + 1, failed: 0 } });
    }
    child.kill('SIGTERM');
    await new Promise((r) => node.child.once('exit', r));
    child = null;
    const db = new Database(join(dir.path, 'pilothouse.db'), { readonly: true });
    const rows = db.prepare("SELECT id, version FROM batch_records WHERE collection = 'c'").all() as { id: string; version: number }[];
    const filled = (db.prepare("SELECT count(*) AS n FROM batch_records WHERE collection = 'f'").get() as { n: number }).n;
    db.close();
    expect(filled).toBe(JOBS * FILLER);
    expect(rows).toHaveLength(JOBS);
    expect(rows.filter((r) => r.version !== 2)).toEqual([]); // each update applied exactly once
    const elsewhere = new Database(join(observer.dataDir, 'pilothouse.db'), { readonly: true });
    expect((elsewhere.prepare('SELECT count(*) AS n FROM batches').get() as { n: number }).n).toBe(0);
    elsewhere.close();
  }, 300_000);
});
