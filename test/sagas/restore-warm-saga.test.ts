import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';
import { waitFor } from './fixtures';

/** The price table of a shop's database: what the `prices` cache namespace holds copies of. */
function writePrices(path: string, prices: Record<string, number>): void {
  const db = new Database(path);
  db.exec('CREATE TABLE IF NOT EXISTS prices (sku TEXT PRIMARY KEY, cents INTEGER NOT NULL)');
  db.prepare('DELETE FROM prices').run();
  const put = db.prepare('INSERT INTO prices (sku, cents) VALUES (?, ?)');
  for (const [sku, cents] of Object.entries(prices)) put.run(sku, cents);
  db.close();
}

function readPrices(path: string): Record<string, number> {
  const db = new Database(path, { readonly: true });
  const rows = db.prepare('SELECT sku, cents FROM prices ORDER BY sku').all() as { sku: string; cents: number }[];
  db.close();
  return Object.fromEntries(rows.map((r) => [r.sku, r.cents]));
}

describe('the built-in saga backup.restore-and-warm, against a real backup repository and cache', () => {
  let t: TestPlane;
  let shop: string;
  let sourceId: string;
  /** The keys the warm-up list loads, each read from the shop database as it is when loaded. */
  let hot: string[];

  const cached = async (sku: string) => {
    const res = await t.op('cache.get', { namespace: 'prices', key: sku });
    return res.status === 200 ? res.body.value : res.body.error.code;
  };
  const ended = async (id: string) => {
    await waitFor(
      async () => ['completed', 'compensated', 'stuck'].includes((await t.op('sagas.get', { id })).body.saga.state),
      30_000,
      'the saga to end',
    );
    return (await t.op('sagas.get', { id })).body.saga;
  };

  beforeAll(async () => {
    t = await startTestPlane();
    shop = join(t.dataDir, 'shop.db');
    writePrices(shop, { apple: 100, pear: 200 });
    sourceId = (await t.op('backup.sources.register', { name: 'shop', path: shop })).body.source.id;
    hot = ['apple', 'pear'];
    t.plane.running.cache.registerWarmup('prices', {
      keys: () => hot,
      loader: ({ key }) => {
        const cents = readPrices(shop)[key];
        if (cents === undefined) throw new Error(`no price for ${key}`);
        return cents;
      },
      atStart: false,
    });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('is started by admins only, as the in-place restore it runs: an operator is refused and nothing changes', async () => {
    const snapshotId = (await t.op('backup.snapshot', { id: sourceId })).body.snapshot.id;
    const operator = (await t.op('keys.create', { name: 'restorer', role: 'operator' })).body.secret as string;
    const before = readPrices(shop);
    const refused = await t.op(
      'sagas.start',
      { type: 'backup.restore-and-warm', input: { snapshotId, namespace: 'prices', force: true } },
      operator,
    );
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatchObject({ code: 'PH_FORBIDDEN' });
    expect(refused.body.error.message).toContain('needs the admin role');
    expect((await t.op('sagas.list', {})).body.sagas).toEqual([]);
    expect(readPrices(shop)).toEqual(before);
    const types = (await t.op('sagas.list', {}, operator)).body.types as { type: string; startRole: string }[];
    expect(types.find((x) => x.type === 'backup.restore-and-warm')?.startRole).toBe('admin');
    expect(types.find((x) => x.type === 'services.shift-traffic')?.startRole).toBe('operator');
  });

  it('restores the snapshot and re-warms the namespace from the restored data', async () => {
    const snapshotId = (await t.op('backup.snapshot', { id: sourceId })).body.snapshot.id;
    writePrices(shop, { apple: 150, pear: 250 });
    await t.op('cache.warm', { namespace: 'prices' });
    expect(await cached('apple')).toBe(150);

    const { body } = await t.op('sagas.start', { type: 'backup.restore-and-warm', input: { snapshotId, namespace: 'prices' } });
    const saga = await ended(body.saga.id);
    expect(saga.state).toBe('completed');
    expect(readPrices(shop)).toEqual({ apple: 100, pear: 200 });
    expect(await cached('apple')).toBe(100);
    expect(await cached('pear')).toBe(200);
    const history = await t.op('backup.history', { limit: 10 });
    expect(history.body.restores[0]).toMatchObject({ snapshotId, inPlace: true, ok: true });
  });

  it('restores the database back and clears the namespace when the warm-up fails: the rollback', async () => {
    // The snapshot has no plum; the hot list, made after it, wants one.
    const snapshotId = (await t.op('backup.snapshot', { id: sourceId })).body.snapshot.id;
    writePrices(shop, { apple: 120, pear: 220, plum: 320 });
    hot = ['apple', 'pear', 'plum'];
    await t.op('cache.warm', { namespace: 'prices' });
    expect(await cached('plum')).toBe(320);

    const { body } = await t.op('sagas.start', { type: 'backup.restore-and-warm', input: { snapshotId, namespace: 'prices' } });
    const saga = await ended(body.saga.id);
    expect(saga.state).toBe('compensated');
    expect(saga.failure).toBe('rewarm: 1 of 3 keys of prices did not load');
    expect(saga.steps.map((s: { state: string }) => s.state)).toEqual(['compensated', 'compensated', 'failed']);
    // The database is as it was before the saga, and nothing warmed from the restored data is left.
    expect(readPrices(shop)).toEqual({ apple: 120, pear: 220, plum: 320 });
    expect(await cached('apple')).toBe('PH_CACHE_MISS');
    // Newest first: the rollback (to the safety snapshot the saga took), then the saga's restore.
    const [rollback, restore] = (await t.op('backup.history', { limit: 10 })).body.restores as { snapshotId: string; inPlace: boolean }[];
    expect(restore).toMatchObject({ snapshotId, inPlace: true, ok: true });
    expect(rollback).toMatchObject({ inPlace: true, ok: true });
    expect(rollback?.snapshotId).not.toBe(snapshotId);
  });

  it('refuses at start, before anything is restored, a namespace without a warm-up list and a snapshot of Pilothouse’s own database', async () => {
    const snapshotId = (await t.op('backup.snapshot', { id: sourceId })).body.snapshot.id;
    const sagasBefore = (await t.op('sagas.list', {})).body.sagas.length as number;
    const restoresBefore = (await t.op('backup.history', { limit: 50 })).body.restores.length as number;
    const unwarmable = await t.op('sagas.start', { type: 'backup.restore-and-warm', input: { snapshotId, namespace: 'no-list' } });
    expect(unwarmable.status).toBe(400);
    expect(unwarmable.body.error).toMatchObject({ code: 'PH_INVALID_INPUT', field: 'input.namespace' });
    expect(unwarmable.body.error.message).toContain('no warm-up list');
    const appSnapshot = (await t.op('backup.snapshot', { id: 'app' })).body.snapshot.id;
    const own = await t.op('sagas.start', { type: 'backup.restore-and-warm', input: { snapshotId: appSnapshot, namespace: 'prices' } });
    expect(own.status).toBe(409);
    expect(own.body.error.code).toBe('PH_BACKUP_TARGET_IN_USE');
    expect((await t.op('sagas.list', {})).body.sagas).toHaveLength(sagasBefore);
    expect((await t.op('backup.history', { limit: 50 })).body.restores).toHaveLength(restoresBefore);
    expect((await t.op('cache.stats', {})).body.warmups).toEqual(['prices']);
  });

  it('refuses an input the saga cannot use, naming the field', async () => {
    const res = await t.op('sagas.start', { type: 'backup.restore-and-warm', input: { snapshotId: 'x' } });
    expect(res.body.error).toMatchObject({ code: 'PH_INVALID_INPUT', field: 'input' });
  });
});
