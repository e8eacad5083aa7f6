import type { Database } from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { batch, BatchEngine, recordResource, ResourceRegistry, type BatchOp } from '../../main/batch';
import { systemClock } from '../../main/clock';
import { openTestDb, silent } from './fixtures';

function itemsResource(log: string[] = [], failAt = -1) {
  return {
    validators: {
      create: (op: BatchOp) => ((op.data as { n: number }).n === failAt ? `item ${failAt} is refused` : null),
    },
    handlers: {
      create: (op: BatchOp, ctx: { db: Database }) => {
        ctx.db.prepare('INSERT INTO items (id, n) VALUES (?, ?)').run(op.id ?? null, (op.data as { n: number }).n);
      },
      update: (op: BatchOp, ctx: { db: Database }) => {
        const r = ctx.db.prepare('UPDATE items SET n = ? WHERE id = ?').run((op.data as { n: number }).n, op.id);
        if (r.changes === 0) throw new Error(`no item ${op.id}`);
      },
      delete: (op: BatchOp, ctx: { db: Database }) => {
        ctx.db.prepare('DELETE FROM items WHERE id = ?').run(op.id);
      },
      custom: {
        double: (op: BatchOp, ctx: { db: Database }) => ctx.db.prepare('UPDATE items SET n = n * 2 WHERE id = ? RETURNING n').get(op.id),
      },
    },
    hooks: {
      beforeBatch: () => void log.push('beforeBatch'),
      afterOperation: (_op: BatchOp, ctx: { index: number; deliveryId: string }) => void log.push(`after:${ctx.index}`),
      afterBatch: (ctx: { committed: number }) => void log.push(`afterBatch:${ctx.committed}`),
    },
  };
}

describe('batches', () => {
  let t: ReturnType<typeof openTestDb>;
  let registry: ResourceRegistry;
  let engine: BatchEngine;
  let log: string[];
  const count = () => (t.db.prepare('SELECT count(*) AS n FROM items').get() as { n: number }).n;

  beforeEach(() => {
    t = openTestDb();
    t.db.exec('CREATE TABLE items (id TEXT PRIMARY KEY, n INTEGER NOT NULL)');
    log = [];
    registry = new ResourceRegistry().register('item', itemsResource(log)).register('record', recordResource(systemClock));
    engine = new BatchEngine(t.db, registry, systemClock, silent);
  });
  afterEach(() => t.close());

  it('a 10,000-operation atomic batch whose validator fails at operation 9,999 changes nothing', async () => {
    const refusing = new ResourceRegistry().register('item', itemsResource(log, 9_998));
    const strict = new BatchEngine(t.db, refusing, systemClock, silent);
    const b = batch().atomic();
    for (let i = 0; i < 10_000; i += 1) b.create('item', { n: i }, `i${i}`);
    const before = t.db.prepare('SELECT count(*) AS n FROM batch_outbox').get();
    const report = await b.apply(strict);
    expect(report.status).toBe('failed');
    expect(report.errors).toEqual([{ index: 9_998, code: 'PH_BATCH_VALIDATION_FAILED', message: 'item 9998 is refused' }]);
    expect(report.counts).toEqual({ pending: 0, succeeded: 0, failed: 1, skipped: 9_999 });
    expect(count()).toBe(0);
    expect(t.db.prepare('SELECT count(*) AS n FROM batch_outbox').get()).toEqual(before);
    await strict.outbox.idle();
    expect(log.filter((l) => l.startsWith('after'))).toEqual([]);
    expect(strict.get(report.batchId).status).toBe('failed');
  });

  it('a 10,000-operation atomic batch whose handler throws at operation 9,999 rolls every write back', async () => {
    t.db.prepare('INSERT INTO items (id, n) VALUES (?, ?)').run('i9998', -1); // the 9,999th create collides
    const b = batch();
    for (let i = 0; i < 10_000; i += 1) b.create('item', { n: i }, `i${i}`);
    const report = await b.apply(engine);
    expect(report.status).toBe('failed');
    expect(report.errors).toHaveLength(1);
    expect(report.errors[0]).toMatchObject({ index: 9_998, code: 'PH_BATCH_OPERATION_FAILED' });
    expect(report.errors[0]?.message).toMatch(/UNIQUE/);
    expect(count()).toBe(1);
    expect(t.db.prepare('SELECT n FROM items').get()).toEqual({ n: -1 });
  });

  it('applies an atomic batch of create, update, custom and delete and reports each result', async () => {
    const report = await batch()
      .create('item', { n: 1 }, 'a')
      .create('item', { n: 2 }, 'b')
      .update('item', 'a', { n: 10 })
      .custom('item', 'double', undefined, 'a')
      .delete('item', 'b')
      .apply(engine);
    expect(report.status).toBe('succeeded');
    expect(report.counts).toEqual({ pending: 0, succeeded: 5, failed: 0, skipped: 0 });
    expect(report.operations[3]).toEqual({ index: 3, status: 'succeeded', result: { n: 20 } });
    expect(t.db.prepare('SELECT id, n FROM items').all()).toEqual([{ id: 'a', n: 20 }]);
    expect(report.durationMs).toBeGreaterThanOrEqual(0);
    expect(engine.get(report.batchId)).toEqual(report);
  });

  it('reports every refused operation by index, and unknown resources and actions as refusals', async () => {
    const report = await engine.apply({
      operations: [
        { resource: 'item', action: 'create', id: 'a', data: { n: 1 } },
        { resource: 'nope', action: 'create', data: {} },
        { resource: 'item', action: 'custom', name: 'triple', id: 'a' },
        { resource: 'record', action: 'update', data: { collection: 'c' } },
      ],
    });
    expect(report.errors.map((e) => [e.index, e.code])).toEqual([
      [1, 'PH_BATCH_UNKNOWN_RESOURCE'],
      [2, 'PH_BATCH_UNSUPPORTED_ACTION'],
      [3, 'PH_BATCH_VALIDATION_FAILED'],
    ]);
    expect(report.operations.map((o) => o.status)).toEqual(['skipped', 'failed', 'failed', 'failed']);
    expect(count()).toBe(0);
  });

  it('fires after* hooks exactly once per committed operation, after commit, and none for a rolled-back batch', async () => {
    await batch().create('item', { n: 1 }, 'a').create('item', { n: 2 }, 'b').apply(engine);
    await engine.outbox.idle();
    expect(log).toEqual(['beforeBatch', 'after:0', 'after:1', 'afterBatch:2']);
    log.length = 0;
    await batch().create('item', { n: 3 }, 'c').create('item', { n: 4 }, 'a').apply(engine); // 'a' exists
    await engine.outbox.idle();
    expect(log).toEqual(['beforeBatch']); // before* ran inside the rolled-back transaction; no after* hook
    expect(engine.outbox.pending()).toBe(0);
  });

  it('delivers owed hooks from the outbox after a restart, without re-delivering those already done', async () => {
    // Commit a batch but stop before draining: a fresh engine on the same file delivers the hooks.
    const report = engine.applyAtomic(batch().create('item', { n: 1 }, 'a').create('item', { n: 2 }, 'b').toJSON());
    expect(engine.outbox.pending()).toBe(1);
    t.db.prepare('UPDATE batch_outbox SET next_idx = 1').run(); // op 0's hook was delivered before the "crash"
    const log2: string[] = [];
    const again = new BatchEngine(t.db, new ResourceRegistry().register('item', itemsResource(log2)), systemClock, silent);
    again.outbox.kick();
    await again.outbox.idle();
    expect(log2).toEqual(['after:1', 'afterBatch:2']);
    expect(again.outbox.pending()).toBe(0);
    expect(report.status).toBe('succeeded');
  });

  it('non-atomic: each operation commits on its own and failures are reported by index', async () => {
    const report = await batch()
      .nonAtomic()
      .create('item', { n: 1 }, 'a')
      .update('item', 'zzz', { n: 1 })
      .create('item', { n: 3 }, 'c')
      .apply(engine);
    expect(report.status).toBe('partial');
    expect(report.operations.map((o) => o.status)).toEqual(['succeeded', 'failed', 'succeeded']);
    expect(report.errors).toEqual([{ index: 1, code: 'PH_BATCH_OPERATION_FAILED', message: 'no item zzz' }]);
    expect(count()).toBe(2);
    await engine.outbox.idle();
    expect(log).toEqual(['beforeBatch', 'after:0', 'after:2', 'afterBatch:2']);
  });

  it('non-atomic with continueOnError false skips the operations after the first failure', async () => {
    const report = await batch()
      .nonAtomic({ continueOnError: false })
      .update('item', 'zzz', { n: 1 })
      .create('item', { n: 3 }, 'c')
      .apply(engine);
    expect(report.operations.map((o) => o.status)).toEqual(['failed', 'skipped']);
    expect(report.status).toBe('failed');
    expect(count()).toBe(0);
  });

  it('resumes an interrupted non-atomic batch after restart without re-applying what committed', async () => {
    // Simulate a crash after op 0 committed: the batch row and op rows exist, op 1 and 2 pending.
    const spec = batch().nonAtomic().create('item', { n: 1 }, 'a').create('item', { n: 2 }, 'b').create('item', { n: 3 }, 'c').toJSON();
    t.db
      .prepare("INSERT INTO batches (id, mode, status, spec, created_at) VALUES ('b1', 'non-atomic', 'running', ?, 0)")
      .run(JSON.stringify(spec));
    t.db
      .prepare("INSERT INTO batch_ops (batch_id, idx, status) VALUES ('b1', 0, 'succeeded'), ('b1', 1, 'pending'), ('b1', 2, 'pending')")
      .run();
    t.db.prepare('INSERT INTO items (id, n) VALUES (?, ?)').run('a', 1);
    expect(engine.get('b1').status).toBe('running');
    const [report] = await engine.resumeInterrupted();
    expect(report?.status).toBe('succeeded');
    expect(t.db.prepare('SELECT id FROM items ORDER BY id').all()).toEqual([{ id: 'a' }, { id: 'b' }, { id: 'c' }]);
    expect(engine.get('b1').counts.succeeded).toBe(3);
    expect(await engine.resumeInterrupted()).toEqual([]);
  });

  it('the JSON form and the builder describe the same batch', () => {
    const json = batch()
      .nonAtomic({ continueOnError: false })
      .create('record', { collection: 'c', a: 1 }, 'x')
      .delete('record', 'y')
      .toJSON();
    expect(json).toEqual({
      mode: 'non-atomic',
      continueOnError: false,
      operations: [
        { resource: 'record', action: 'create', id: 'x', data: { collection: 'c', a: 1 } },
        { resource: 'record', action: 'delete', id: 'y' },
      ],
    });
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
  });

  it('the built-in record resource creates, updates with a version and deletes documents', async () => {
    const report = await engine.apply({
      operations: [
        { resource: 'record', action: 'create', id: 'h1', data: { collection: 'hosts', ip: '10.0.0.1' } },
        { resource: 'record', action: 'update', id: 'h1', data: { collection: 'hosts', ip: '10.0.0.2' } },
      ],
    });
    expect(report.operations[1]?.result).toEqual({ id: 'h1', version: 2 });
    expect(t.db.prepare('SELECT data, version FROM batch_records').get()).toEqual({ data: '{"ip":"10.0.0.2"}', version: 2 });

    // The builder's delete names the collection, as a record's every action must.
    const removed = await batch().atomic().delete('record', 'h1', { collection: 'hosts' }).apply(engine);
    expect(removed.status).toBe('succeeded');
    expect(t.db.prepare('SELECT count(*) AS n FROM batch_records').get()).toEqual({ n: 0 });
  });

  it("refuses a record created twice in its own words, not SQLite's, and keeps the first", async () => {
    const create = { resource: 'record', action: 'create', id: 'h7', data: { collection: 'hosts', ip: '10.0.0.7' } } as const;
    expect((await engine.apply({ operations: [create] })).status).toBe('succeeded');
    const again = await engine.apply({ operations: [{ ...create, data: { collection: 'hosts', ip: '10.9.9.9' } }] });
    expect(again.status).toBe('failed');
    expect(again.errors).toEqual([{ index: 0, code: 'PH_BATCH_OPERATION_FAILED', message: 'A record h7 already exists in hosts' }]);
    expect(t.db.prepare('SELECT data FROM batch_records').get()).toEqual({ data: '{"ip":"10.0.0.7"}' });
  });
});
