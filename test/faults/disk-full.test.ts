import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';
import { until } from '../helpers/until';
import { launchHeadless } from './headless';
import { mountSmallDisk, type SmallDisk } from './tmpfs';

describe('a full disk under the data directory', () => {
  let disk: SmallDisk;
  let t: TestPlane;
  const uncaught: unknown[] = [];
  const onUncaught = (err: unknown) => uncaught.push(err);
  beforeAll(async () => {
    process.on('uncaughtException', onUncaught);
    disk = mountSmallDisk(16);
    t = await startTestPlane({ dataDir: join(disk.path, 'data') });
  });
  afterAll(async () => {
    await t?.stop();
    disk?.unmount();
    process.off('uncaughtException', onUncaught);
  });

  const put = (key: string, value: unknown) =>
    fetch(`${t.url}/api/v2/cache/fault/${key}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${t.adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ value, ttl: 3_600_000 }),
    });
  const get = async (key: string) => {
    const res = await fetch(`${t.url}/api/v2/cache/fault/${key}`, { headers: { authorization: `Bearer ${t.adminKey}` } });
    return { status: res.status, body: (await res.json()) as any };
  };
  const cacheService = async () => {
    const { body } = await t.op('system.status');
    return body.services.find((s: { name: string }) => s.name === 'cache') as { state: string; detail?: string };
  };

  it('keeps an acknowledged write the flush could not write, says so in health, refuses new writes with 507, and never exits', async () => {
    expect((await put('before', 'x'.repeat(100))).status).toBe(204);
    t.plane.running.cache.flushL3();
    // Acknowledged, then the disk fills before the 25 ms write-behind runs (fill() is synchronous).
    await t.plane.running.cache.namespace('fault').set('held', 'kept in memory', { ttl: 3_600_000 });
    disk.fill();
    await until(async () => (await cacheService()).state === 'degraded', 10_000, 'the cache to report the failing flush');
    expect((await cacheService()).detail).toMatch(/PH_DISK_FULL.*1 writes held in memory/);
    const refused = await put('refused', 'no room');
    expect(refused.status).toBe(507);
    expect(((await refused.json()) as any).error.code).toBe('PH_DISK_FULL');
    expect(await get('held')).toMatchObject({ status: 200, body: { value: 'kept in memory' } });
    const ready = await fetch(`${t.url}/readyz`);
    expect(((await ready.json()) as any).services.find((s: { name: string }) => s.name === 'cache').state).toBe('degraded');

    disk.free();
    await until(async () => (await cacheService()).state === 'running', 15_000, 'the held write to be flushed once there is room');
    const db = new BetterSqlite3(join(t.dataDir, 'pilothouse.db'), { readonly: true });
    try {
      const row = db.prepare("SELECT key FROM cache_entries WHERE namespace = 'fault' AND key = 'held'").get();
      expect(row).toEqual({ key: 'held' });
    } finally {
      db.close();
    }
    expect((await put('after', 'room again')).status).toBe(204);
    expect(uncaught).toEqual([]);
  });
});

describe('a headless node whose disk fills up', () => {
  let disk: SmallDisk;
  beforeAll(() => {
    disk = mountSmallDisk(24);
  });
  afterAll(() => disk?.unmount());

  it('answers every call with a catalogue code (507 for what needs the disk) and keeps running until there is room again', async () => {
    const node = await launchHeadless(join(disk.path, 'node'));
    try {
      await node.running();
      disk.fill();
      const statuses: number[] = [];
      const codes = new Set<string>();
      const calls: [string, unknown][] = [
        ['jobs.enqueue', { type: 'cache.warm', payload: {} }],
        ['keys.create', { name: 'while-full', role: 'viewer' }],
        ['backup.snapshot', { id: 'app' }],
        ['monitoring.overview', {}],
      ];
      const until = Date.now() + 3_000;
      while (Date.now() < until) {
        for (const [name, input] of calls) {
          const { status, body } = await node.op(name, input);
          statuses.push(status);
          if (status >= 400) codes.add(`${name} ${body.error.code}`);
        }
      }
      expect(statuses.filter((s) => s >= 500 && s !== 507 && s !== 503)).toEqual([]);
      expect([...codes].sort()).toEqual(['backup.snapshot PH_DISK_FULL', 'jobs.enqueue PH_DISK_FULL', 'keys.create PH_DISK_FULL']);
      expect(node.child.exitCode).toBeNull();
      disk.free();
      expect((await node.op('keys.create', { name: 'after', role: 'viewer' })).status).toBe(200);
    } finally {
      expect(await node.kill('SIGTERM')).toBe(0);
    }
  }, 120_000);
});
