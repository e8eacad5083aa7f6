import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { faultSize, reportFigure } from '../faults/fault-size';
import { until } from '../helpers/until';
import { startFleet, type Fleet, type FleetNode } from './helpers';

// CI size by default; the full drill (20 kills, 5,000 jobs) with PH_FAULT_KILLS=50 (`npm run test:faults`).
const KILLS = faultSize.fleetKills;
const JOBS = faultSize.fleetJobs;
/** Records each batch creates besides its one update: enough for a kill to land inside a batch. */
const FILLER = 3;
/** Requests in flight per node while submitting. */
const IN_FLIGHT = 6;

/** Which node a job goes to, and which record it updates there: job j updates `r-<j>` on node j % 3. */
const nodeOf = (j: number): number => j % 3;

const batchOf = (j: number) => ({
  mode: 'non-atomic',
  operations: [
    { resource: 'record', action: 'update', id: `r-${j}`, data: { collection: 'c', j } },
    ...Array.from({ length: FILLER }, (_, k) => ({ resource: 'record', action: 'create', id: `f-${j}-${k}`, data: { collection: 'f' } })),
  ],
});

/** Reads a node's own database, once its process stopped. */
function query<T>(node: FleetNode, sql: string): T[] {
  const db = new Database(join(node.dataDir, 'pilothouse.db'), { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).all() as T[];
  } finally {
    db.close();
  }
}

describe('random kill -9 of nodes while a three-node fleet runs batch.apply jobs', () => {
  let fleet: Fleet;
  /** Nodes that are up: a killed node leaves it until its restart has finished. */
  const up = new Set<FleetNode>();
  const restarts: Promise<void>[] = [];
  /** A restart that did not come up: the drill stops with it. */
  const failed: unknown[] = [];

  beforeAll(async () => {
    fleet = await startFleet(3, { logLevel: 'warn' });
    for (const n of fleet.nodes) up.add(n);
  }, 180_000);
  afterAll(async () => {
    await Promise.allSettled(restarts);
    await fleet?.stop();
  }, 60_000);

  /** Enqueues job j on its node; a request the kill cut off is sent again, same key, once the node is back. */
  async function submit(j: number): Promise<string> {
    const node = fleet.nodes[nodeOf(j)] as FleetNode;
    for (;;) {
      await until(() => up.has(node) || failed.length > 0, 180_000, `${node.name} back up`);
      if (failed.length > 0) throw failed[0] as Error;
      const res = await node
        .op('jobs.enqueue', { type: 'batch.apply', payload: batchOf(j), attempts: 3, idempotencyKey: `kill-drill-${j}` })
        .catch(() => null);
      if (res?.status === 200) return res.body.job.id as string;
      // Refused while the node starts or stops, or cut off by the kill: nothing was acknowledged.
      if (res !== null && res.status < 500 && res.status !== 401)
        throw new Error(`enqueue ${j}: ${res.status} ${JSON.stringify(res.body)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it(`${KILLS} kills of random nodes during ${JOBS} batch.apply jobs: 0 lost, 0 applied twice, each on its own node`, async () => {
    const nodes = fleet.nodes;
    for (const [i, node] of nodes.entries()) {
      const ids = Array.from({ length: JOBS }, (_, j) => j).filter((j) => nodeOf(j) === i);
      const operations = ids.map((j) => ({ resource: 'record', action: 'create', id: `r-${j}`, data: { collection: 'c' } }));
      expect((await node.op('batch.submit', { batch: { mode: 'atomic', operations } })).body.report.status).toBe('succeeded');
    }
    const acked = new Map<number, string>();
    // Completed jobs, as the fleet sees them: a result copy in Redis (the nodes' databases are read once they stopped).
    const completed = new Set<string>();
    const redis = fleet.redis.client();
    const done = async (): Promise<number> => {
      const open = [...acked.values()].filter((id) => !completed.has(id));
      const pipeline = redis.pipeline();
      for (const id of open) pipeline.exists(`ph:jobs:result:${id}`);
      const found = (await pipeline.exec()) ?? [];
      open.forEach((id, i) => {
        if (found[i]?.[1] === 1) completed.add(id);
      });
      return completed.size;
    };

    const submitters = nodes.flatMap((_, i) => {
      const todo = Array.from({ length: JOBS }, (_, j) => j).filter((j) => nodeOf(j) === i);
      return Array.from({ length: IN_FLIGHT }, async () => {
        for (let j = todo.shift(); j !== undefined; j = todo.shift()) acked.set(j, await submit(j));
      });
    });

    // Kills spread over the run: a random node that is up (at most two down at once), restarted at once.
    let kills = 0;
    const killed: string[] = [];
    const killer = (async () => {
      while (kills < KILLS) {
        await new Promise((r) => setTimeout(r, 400 + Math.random() * 800));
        const candidates = nodes.filter((n) => up.has(n));
        if (candidates.length < 2) continue;
        const victim = candidates[Math.floor(Math.random() * candidates.length)] as FleetNode;
        up.delete(victim);
        await victim.kill();
        kills += 1;
        const finished = await done();
        killed.push(`${victim.name} at ${finished}`);
        expect(finished, 'a kill after every job had run').toBeLessThan(JOBS);
        restarts.push(
          victim.restart().then(
            () => void up.add(victim),
            (err: unknown) => void failed.push(err),
          ),
        );
      }
    })();

    await Promise.all([...submitters, killer]);
    await Promise.all(restarts);
    expect(failed).toEqual([]);
    expect(acked.size).toBe(JOBS);
    await until(async () => (await done()) === JOBS, 120_000, `all ${JOBS} jobs completed (kills at: ${killed.join(', ')})`);
    // A few jobs read back through another node: completed, with what their batch did.
    for (const [j, id] of [...acked.entries()].slice(0, 9)) {
      const other = nodes[(nodeOf(j) + 1) % 3] as FleetNode;
      const job = (await other.op('jobs.get', { id })).body.job;
      expect(job).toMatchObject({ state: 'completed', result: { status: 'succeeded', counts: { succeeded: FILLER + 1, failed: 0 } } });
    }
    await Promise.all(nodes.map((n) => n.stop()));

    for (const [i, node] of nodes.entries()) {
      const mine = [...acked.entries()].filter(([j]) => nodeOf(j) === i);
      const results = new Set(query<{ id: string }>(node, "SELECT id FROM job_results WHERE type = 'batch.apply'").map((r) => r.id));
      // 0 lost: every acknowledged job completed, on the node it was submitted to.
      expect(mine.filter(([, id]) => !results.has(id)).map(([j]) => j)).toEqual([]);
      expect(results.size).toBe(mine.length);
      // 0 applied twice: each update once (version 2 = created, then updated once), each filler row once.
      const twice = query<{ id: string; version: number }>(
        node,
        "SELECT id, version FROM batch_records WHERE collection = 'c' AND version != 2",
      );
      expect(twice).toEqual([]);
      expect(query<{ n: number }>(node, "SELECT count(*) AS n FROM batch_records WHERE collection = 'f'")[0]?.n).toBe(mine.length * FILLER);
    }
    reportFigure(
      'fleet batch jobs run exactly once',
      `${JOBS} of ${JOBS}`,
      `three node processes, ${KILLS} kill -9 of random nodes (test/fleet/batch-kills.test.ts)`,
    );
  }, 600_000);
});
