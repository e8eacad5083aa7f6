import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
});
