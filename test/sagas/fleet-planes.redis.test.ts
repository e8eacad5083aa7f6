import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type TestRedis } from '../helpers/redis-server';
import { startNode, type JobsNode } from '../fleet/jobs-nodes';
import { waitFor } from './fixtures';

/**
 * The control plane's wiring of fleet sagas: three real planes on one private Redis, reached only
 * through their HTTP operations, as a LAN program or another node's console would.
 */
describe('saga operations on three control planes sharing one Redis', () => {
  let redis: TestRedis;
  const nodes: JobsNode[] = [];
  /** Which node ran each step: the saga runs once, on one of them. */
  const ranOn: string[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    for (let i = 0; i < 3; i += 1) nodes.push(await startNode(redis.url));
    for (const [i, node] of nodes.entries()) {
      node.plane.running.sagas.register({
        type: 'fleet.hello',
        description: 'Two steps that say where they ran',
        steps: [
          { name: 'one', action: () => void ranOn.push(`one@${i}`) },
          { name: 'two', action: () => void ranOn.push(`two@${i}`) },
        ],
      });
    }
  }, 120_000);
  afterAll(async () => {
    for (const node of nodes) await node.remove();
    await redis?.stop();
  }, 60_000);

  it('starts a saga on one node; the others get it, list it and see it end, and it ran once', async () => {
    const [a, b, c] = nodes as [JobsNode, JobsNode, JobsNode];
    const started = await a.op('sagas.start', { type: 'fleet.hello', input: { who: 'a' } });
    expect(started.status).toBe(200);
    const id = started.body.saga.id as string;
    for (const other of [b, c]) {
      const got = await other.op('sagas.get', { id });
      expect(got.status).toBe(200);
      expect(got.body.saga).toMatchObject({ id, type: 'fleet.hello', input: { who: 'a' } });
      const listed = await other.op('sagas.list', { type: 'fleet.hello' });
      expect(listed.body.sagas.map((s: { id: string }) => s.id)).toContain(id);
    }
    await waitFor(async () => (await c.op('sagas.get', { id })).body.saga.state === 'completed', 20_000, 'the saga to complete');
    expect((await b.op('sagas.get', { id })).body.saga.steps.map((s: { state: string }) => s.state)).toEqual(['done', 'done']);
    expect(ranOn).toHaveLength(2);
    expect(new Set(ranOn.map((r) => r.split('@')[1])).size).toBe(1);
  });

  it('runs backup.restore-and-warm started on another node on the node whose repository holds the snapshot', async () => {
    const [a, b] = nodes as [JobsNode, JobsNode];
    const shop = join(a.dataDir, 'shop.db');
    const write = (cents: number) => {
      const db = new Database(shop);
      db.exec('CREATE TABLE IF NOT EXISTS prices (sku TEXT PRIMARY KEY, cents INTEGER NOT NULL)');
      db.prepare('INSERT OR REPLACE INTO prices (sku, cents) VALUES (?, ?)').run('apple', cents);
      db.close();
    };
    const read = (): number => {
      const db = new Database(shop, { readonly: true });
      const row = db.prepare("SELECT cents FROM prices WHERE sku = 'apple'").get() as { cents: number };
      db.close();
      return row.cents;
    };
    write(100);
    const sourceId = (await a.op('backup.sources.register', { name: 'shop', path: shop })).body.source.id;
    const snapshotId = (await a.op('backup.snapshot', { id: sourceId })).body.snapshot.id;
    write(150);
    for (const node of nodes)
      node.plane.running.cache.registerWarmup('shop-prices', { keys: () => ['apple'], loader: read, atStart: false });
    // b learns of a's snapshot through the fleet's catalogue.
    await waitFor(
      async () => (await b.op('backup.snapshots.list', {})).body.snapshots.some((s: { id: string }) => s.id === snapshotId),
      10_000,
      "a's snapshot in b's catalogue",
    );

    const started = await b.op('sagas.start', { type: 'backup.restore-and-warm', input: { snapshotId, namespace: 'shop-prices' } });
    expect(started.status).toBe(200);
    const id = started.body.saga.id as string;
    await waitFor(
      async () => ['completed', 'compensated', 'stuck'].includes((await b.op('sagas.get', { id })).body.saga.state),
      30_000,
      'the saga to end',
    );
    const saga = (await b.op('sagas.get', { id })).body.saga;
    expect(saga.state).toBe('completed');
    expect(read()).toBe(100);
    const job = (await b.op('jobs.get', { id: saga.jobId })).body.job;
    expect(job).toMatchObject({ type: 'saga.run.on-node', node: a.plane.nodeId, state: 'completed' });
  });

  it('answers PH_SAGA_NOT_FOUND on every node for an id no node started', async () => {
    for (const node of nodes) {
      const res = await node.op('sagas.get', { id: 'no-such-saga' });
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('PH_SAGA_NOT_FOUND');
    }
  });
});
