import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDateTime } from '../../main/ops/formats';
import { desktopCaller } from '../../main/security';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';
import { until } from '../helpers/until';
import { makeDatabase, rowsOf } from './backup-fixture';

describe('point-in-time restore (sourceId + at) through every door', () => {
  let t: TestPlane;
  let sourceId: string;
  let firstAt: string;
  beforeAll(async () => {
    t = await startTestPlane();
    const path = join(t.dataDir, 'pit.db');
    makeDatabase(path, 10).close();
    sourceId = (await t.op('backup.sources.register', { name: 'pit', path })).body.source.id;
    const first = await t.op('backup.snapshot', { id: sourceId });
    expect(first.status).toBe(200);
    firstAt = first.body.snapshot.capturedAt;
    await until(() => Date.now() > Date.parse(firstAt), 1000, 'the clock to pass the first snapshot');
    const db = new BetterSqlite3(path);
    db.prepare('INSERT INTO t (v) VALUES (randomblob(10))').run();
    db.close();
    expect((await t.op('backup.snapshot', { id: sourceId })).status).toBe(200);
  });
  afterAll(async () => t.stop());

  const target = (name: string) => join(t.dataDir, `${name}.db`);

  it('the dispatcher (the IPC path) restores the newest snapshot at or before `at`', async () => {
    const result = (await t.plane.running.dispatcher.call(
      'backup.restore',
      { sourceId, at: firstAt, targetPath: target('dispatcher') },
      desktopCaller,
    )) as { restore: { ok: boolean } };
    expect(result.restore.ok).toBe(true);
    expect(rowsOf(target('dispatcher'))).toHaveLength(10);
  });

  it('the ops endpoint plans and restores with `at`', async () => {
    const plan = await t.op('backup.restore.plan', { sourceId, at: firstAt, targetPath: target('ops') });
    expect(plan.status).toBe(200);
    expect(plan.body.snapshot.capturedAt).toBe(firstAt);
    const restored = await t.op('backup.restore', { sourceId, at: firstAt, targetPath: target('ops') });
    expect(restored.status).toBe(200);
    expect(rowsOf(target('ops'))).toHaveLength(10);
  });

  it('REST POST /api/v1/backups/restore takes `at`', async () => {
    const res = await fetch(`${t.url}/api/v1/backups/restore`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        sourceId,
        at: new Date(Date.parse(firstAt)).toISOString().replace('Z', '+00:00'),
        targetPath: target('rest'),
      }),
    });
    expect(res.status).toBe(200);
    expect(rowsOf(target('rest'))).toHaveLength(10);
  });

  it('refuses an `at` that is not an RFC 3339 date-time with PH_INVALID_INPUT on the field', async () => {
    for (const at of ['yesterday', '2026-02-30T00:00:00Z', '2026-01-01', '2026-01-01T25:00:00Z']) {
      const res = await t.op('backup.restore.plan', { sourceId, at, targetPath: target('bad') });
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'PH_INVALID_INPUT', field: 'at' });
    }
    expect(isDateTime('2026-12-03T14:00:00.123+01:00')).toBe(true);
  });
});
