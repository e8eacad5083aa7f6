import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SqliteJobQueue } from '../../main/batch';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';
import { until } from '../helpers/until';

describe('GraphQL relations: nested fields in one query, one read per level', () => {
  let t: TestPlane;

  const gql = async (query: string): Promise<any> => {
    const res = await fetch(`${t.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${t.adminKey}` },
      body: JSON.stringify({ query }),
    });
    const body = (await res.json()) as any;
    expect(body.errors).toBeUndefined();
    return body.data;
  };
  /** How many times the dispatcher ran an operation since start (monitoring's own count). */
  const calls = async (operation: string): Promise<number> => {
    const { body } = await t.op('monitoring.operations', { scope: 'total' });
    return body.operations.find((o: { name: string }) => o.name === `op:${operation}`)?.count ?? 0;
  };

  beforeAll(async () => {
    t = await startTestPlane();
    for (const [name, count] of [
      ['billing', 3],
      ['search', 2],
    ] as const) {
      for (let i = 0; i < count; i++) {
        const registered = await t.op('services.register', {
          name,
          id: `${name}-${i}`,
          address: '127.0.0.1',
          port: 9000 + i,
          checks: [{ kind: 'ttl', ttlMs: 60_000, initialStatus: 'passing' }],
        });
        expect(registered.status).toBe(200);
      }
    }
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('answers a service with its instances and their checks, reading the registry once for every service', async () => {
    const before = await calls('services.list');
    const data = await gql(`{ services { summary { services { name instances instanceList { id checks { kind status } } } } } }`);
    const byName = Object.fromEntries(data.services.summary.services.map((s: any) => [s.name, s]));
    expect(byName.billing.instanceList.map((i: any) => i.id).sort()).toEqual(['billing-0', 'billing-1', 'billing-2']);
    expect(byName.search.instanceList).toHaveLength(byName.search.instances);
    expect(byName.search.instanceList[0].checks).toEqual([{ kind: 'TTL', status: 'PASSING' }]);
    expect((await calls('services.list')) - before).toBe(1);
  });

  it('answers a snapshot with its source and verifications', async () => {
    const file = join(t.dataDir, 'app-under-backup.db');
    const db = new Database(file);
    db.exec("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('one'), ('two');");
    db.close();
    const source = (await t.op('backup.sources.register', { name: 'notes', path: file })).body.source;
    const snapshot = (await t.op('backup.snapshot', { id: source.id })).body.snapshot;
    expect((await t.op('backup.verify', { id: snapshot.id })).body.verification.ok).toBe(true);
    const data = await gql(`{ backup { snapshotsList { snapshots { id source { id name } verifications { ok pagesChecked } } } } }`);
    const found = data.backup.snapshotsList.snapshots.find((s: any) => s.id === snapshot.id);
    expect(found.source).toEqual({ id: source.id, name: 'notes' });
    expect(found.verifications).toEqual([{ ok: true, pagesChecked: expect.any(Number) }]);
  });

  it('answers a job with its children and, for a batch job, the batch report', async () => {
    t.plane.running.batch.queue.register('test.noop', () => ({ done: true }));
    const parent = await t.op('jobs.enqueue', { type: 'test.noop', children: [{ type: 'test.noop' }, { type: 'test.noop' }] });
    expect(parent.status).toBe(200);
    const batch = await t.op('batch.submit', {
      background: true,
      batch: { mode: 'atomic', operations: [{ resource: 'record', action: 'create', id: 'gql-1', data: { collection: 'hosts' } }] },
    });
    expect(batch.status).toBe(200);
    await until(async () => (await t.op('jobs.get', { id: batch.body.jobId })).body.job.state === 'completed', 10_000, 'the batch job');
    const data = await gql(`{
      parent: jobs { get(id: "${parent.body.job.id}") { job { id children { type parentId } batchReport { batchId } } } }
      batch: jobs { get(id: "${batch.body.jobId}") { job { type batchReport { status counts { succeeded } } } } }
    }`);
    expect(data.parent.get.job.children).toEqual([
      { type: 'test.noop', parentId: parent.body.job.id },
      { type: 'test.noop', parentId: parent.body.job.id },
    ]);
    expect(data.parent.get.job.batchReport).toBeNull();
    expect(data.batch.get.job).toEqual({ type: 'batch.apply', batchReport: { status: 'SUCCEEDED', counts: { succeeded: 1 } } });
  });
  it('reads each nested level once, however many parents it nests under: children, verifications and batch reports', async () => {
    const { queue, engine } = t.plane.running.batch;
    const { catalogue } = t.plane.running.backup;
    expect(queue).toBeInstanceOf(SqliteJobQueue);
    const store = (queue as SqliteJobQueue).store;
    queue.register('test.fan', () => ({ done: true }));
    queue.register('test.leaf', () => ({ done: true }));
    const parents = [];
    for (let i = 0; i < 3; i++) {
      const parent = await t.op('jobs.enqueue', { type: 'test.fan', children: [{ type: 'test.leaf' }, { type: 'test.leaf' }] });
      expect(parent.status).toBe(200);
      parents.push(parent.body.job.id as string);
    }
    for (let i = 0; i < 2; i++) {
      const operations = [{ resource: 'record', action: 'create', id: `level-${i}`, data: { collection: 'hosts' } }];
      expect((await t.op('batch.submit', { background: true, batch: { mode: 'atomic', operations } })).status).toBe(200);
    }
    await until(
      async () => (await t.op('jobs.list', { state: 'completed', limit: 500 })).body.jobs.length >= 3 * 3 + 2 + 3,
      15_000,
      'every job of the test completed',
    );
    const file = join(t.dataDir, 'levels.db');
    const db = new Database(file);
    db.exec("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('one');");
    db.close();
    const source = (await t.op('backup.sources.register', { name: 'levels', path: file })).body.source;
    for (let i = 0; i < 2; i++) {
      const snapshot = (await t.op('backup.snapshot', { id: source.id })).body.snapshot;
      expect((await t.op('backup.verify', { id: snapshot.id })).body.verification.ok).toBe(true);
    }

    // Spies that count the real store reads (each passes through to SQLite).
    const reads = {
      jobs: vi.spyOn(store, 'list'),
      verifications: vi.spyOn(catalogue, 'verifications'),
      reports: vi.spyOn(engine, 'getMany'),
      report: vi.spyOn(engine, 'get'),
    };
    try {
      const data = await gql(`{
        fans: jobs { list(type: "test.fan") { jobs { id children { parentId type } } } }
        batches: jobs { list(type: "batch.apply") { jobs { batchReport { status counts { succeeded } } } } }
        backup { snapshotsList(sourceId: "${source.id}") { snapshots { id verifications { snapshotId ok } } } }
      }`);
      const fans = data.fans.list.jobs as { id: string; children: { parentId: string; type: string }[] }[];
      expect(fans.map((f) => f.id).sort()).toEqual([...parents].sort());
      for (const fan of fans) expect(fan.children).toEqual([0, 1].map(() => ({ parentId: fan.id, type: 'test.leaf' })));
      expect(data.batches.list.jobs.filter((j: any) => j.batchReport?.counts.succeeded === 1).length).toBeGreaterThanOrEqual(2);
      const snapshots = data.backup.snapshotsList.snapshots as { id: string; verifications: { snapshotId: string; ok: boolean }[] }[];
      expect(snapshots).toHaveLength(2);
      for (const s of snapshots) expect(s.verifications).toEqual([{ snapshotId: s.id, ok: true }]);
      // Two job lists at the top, then one read for all three parents' children.
      expect(reads.jobs).toHaveBeenCalledTimes(3);
      expect(reads.jobs.mock.calls.filter(([filter]) => filter.parentIds !== undefined)).toHaveLength(1);
      expect(reads.verifications).toHaveBeenCalledTimes(1);
      expect(reads.reports).toHaveBeenCalledTimes(1);
      expect(reads.report).not.toHaveBeenCalled();
    } finally {
      for (const spy of Object.values(reads)) spy.mockRestore();
    }
  });
  it('offers the batched reads as operations too: a limit per parent, the one- and many-parent forms not mixed, unknown batches left out', async () => {
    t.plane.running.batch.queue.register('test.pair', () => ({ done: true }));
    const parents: string[] = [];
    for (const n of [3, 1]) {
      const children = Array.from({ length: n }, () => ({ type: 'test.pair', delayMs: 3_600_000 }));
      parents.push((await t.op('jobs.enqueue', { type: 'test.pair', children })).body.job.id as string);
    }
    const page = (await t.op('jobs.list', { parentIds: parents, limit: 2 })).body;
    expect(page.total).toBe(4);
    expect(page.jobs.filter((j: { parentId: string }) => j.parentId === parents[0])).toHaveLength(2);
    expect(page.jobs.filter((j: { parentId: string }) => j.parentId === parents[1])).toHaveLength(1);
    const mixed = await t.op('jobs.list', { parentIds: parents, parentId: parents[0] });
    expect([mixed.status, mixed.body.error.code, mixed.body.error.field]).toEqual([400, 'PH_INVALID_INPUT', 'parentIds']);

    const file = join(t.dataDir, 'pairs.db');
    const db = new Database(file);
    db.exec('CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);');
    db.close();
    const source = (await t.op('backup.sources.register', { name: 'pairs', path: file })).body.source;
    const snapshot = (await t.op('backup.snapshot', { id: source.id })).body.snapshot;
    for (let i = 0; i < 3; i++) expect((await t.op('backup.verify', { id: snapshot.id })).status).toBe(200);
    const verifications = (await t.op('backup.verifications.list', { snapshotIds: [snapshot.id, 'no-such-snapshot'], limit: 2 })).body
      .verifications;
    expect(verifications.map((v: { snapshotId: string }) => v.snapshotId)).toEqual([snapshot.id, snapshot.id]);
    const both = await t.op('backup.verifications.list', { snapshotIds: [snapshot.id], snapshotId: snapshot.id });
    expect([both.status, both.body.error.code]).toEqual([400, 'PH_INVALID_INPUT']);

    const applied = await t.op('batch.submit', {
      batch: { mode: 'atomic', operations: [{ resource: 'record', action: 'create', id: 'pair-1', data: { collection: 'hosts' } }] },
    });
    const batchId = applied.body.report.batchId as string;
    const reports = (await t.op('batch.reports', { ids: [batchId, 'no-such-batch'] })).body.reports;
    expect(reports.map((r: { batchId: string; status: string }) => [r.batchId, r.status])).toEqual([[batchId, 'succeeded']]);
  });
});
