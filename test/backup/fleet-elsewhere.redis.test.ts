import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNode, type JobsNode } from '../fleet/jobs-nodes';
import { startRedis, type TestRedis } from '../helpers/redis-server';
import { until } from '../helpers/until';

/**
 * Three real control planes on one private Redis. The backup lists are fleet-wide, so an operator
 * picks node A's snapshot from node B's list; each node's repository is its own, so B cannot
 * restore, export or verify it. B's answer keeps its code and names the node that holds it.
 */
describe('asking one node of the fleet about a snapshot or source another node holds', () => {
  let redis: TestRedis;
  let a: JobsNode;
  let b: JobsNode;
  let c: JobsNode;
  let sourceId: string;
  let snapshotId: string;

  beforeAll(async () => {
    redis = await startRedis();
    [a, b, c] = await Promise.all([startNode(redis.url), startNode(redis.url), startNode(redis.url)]);
    const path = join(a.dataDir, 'orders.db');
    const db = new BetterSqlite3(path);
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t (v) VALUES ('one')");
    db.close();
    sourceId = (await a.op('backup.sources.register', { name: 'orders', path })).body.source.id;
    snapshotId = (await a.op('backup.snapshot', { id: sourceId })).body.snapshot.id;
    for (const n of [b, c])
      await until(
        async () => (await n.op('backup.snapshots.list', { sourceId })).body.snapshots.some((s: { id: string }) => s.id === snapshotId),
        10_000,
        'the snapshot in the fleet list',
      );
  }, 120_000);
  afterAll(async () => {
    for (const n of [a, b, c]) await n?.remove();
    await redis?.stop();
  }, 60_000);

  const namesA = (answer: { status: number; body: any }, code: string): void => {
    expect(answer.status).toBe(404);
    expect(answer.body.error.code).toBe(code);
    expect(answer.body.error.message).toContain(`node ${a.plane.nodeId}`);
    expect(answer.body.error.details).toEqual({ node: a.plane.nodeId });
  };

  it('a restore, its plan, an export and a verify of A’s snapshot asked of B name node A', async () => {
    const target = { snapshotId, targetPath: join(b.dataDir, 'restored.db') };
    namesA(await b.op('backup.restore', target), 'PH_BACKUP_NOT_FOUND');
    namesA(await b.op('backup.restore.plan', target), 'PH_BACKUP_NOT_FOUND');
    namesA(await c.op('backup.export', { id: snapshotId }), 'PH_BACKUP_NOT_FOUND');
    namesA(await c.op('backup.verify', { id: snapshotId }), 'PH_BACKUP_NOT_FOUND');
  });

  it('a restore by A’s source, a snapshot, an update and a removal of it asked of B name node A, and A keeps the source', async () => {
    namesA(await b.op('backup.restore', { sourceId, targetPath: join(b.dataDir, 'restored.db') }), 'PH_BACKUP_NO_SNAPSHOT');
    namesA(await b.op('backup.snapshot', { id: sourceId }), 'PH_BACKUP_SOURCE_NOT_FOUND');
    namesA(await b.op('backup.sources.update', { id: sourceId, schedule: null }), 'PH_BACKUP_SOURCE_NOT_FOUND');
    namesA(await b.op('backup.sources.remove', { id: sourceId }), 'PH_BACKUP_SOURCE_NOT_FOUND');
    const { sources } = (await a.op('backup.sources.list')).body;
    expect(sources.some((s: { id: string; node: string }) => s.id === sourceId && s.node === a.plane.nodeId)).toBe(true);
  });

  it('an id no node holds still answers a plain not found, naming no node', async () => {
    const answer = await b.op('backup.verify', { id: '01900000-0000-7000-8000-000000000000' });
    expect(answer.status).toBe(404);
    expect(answer.body.error.code).toBe('PH_BACKUP_NOT_FOUND');
    expect(answer.body.error.details).toBeUndefined();
  });
});
