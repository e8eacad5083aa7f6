import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Sqlite from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { securityMigrations } from '../../main/security';
import { openStore } from '../../main/store';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';
import { tempDir } from '../helpers/temp-dir';
import { until } from '../helpers/until';

interface Row {
  seq: number;
  at: string;
  actor: string;
  action: string;
  target: string | null;
  outcome: string;
  detail: string | null;
  prev_hash: string;
  hash: string;
}

/** What someone with write access to the file can do: open it with SQLite, behind Pilothouse's back. */
function tamper(dataDir: string, change: (db: Sqlite.Database) => void): void {
  const db = new Sqlite(join(dataDir, 'pilothouse.db'));
  try {
    change(db);
  } finally {
    db.close();
  }
}

const plainHash = (prev: string, row: Omit<Row, 'prev_hash' | 'hash'>): string =>
  createHash('sha256')
    .update(prev)
    .update('\n')
    .update(JSON.stringify([row.seq, row.at, row.actor, row.action, row.target, row.outcome, row.detail]))
    .digest('hex');

/** The chain as it was before it was keyed: SHA-256 over the previous hash and the row's fields. */
function recomputePlainHashes(db: Sqlite.Database, fromSeq: number): void {
  const rows = db.prepare('SELECT * FROM audit_log ORDER BY seq').all() as Row[];
  let prev = '0'.repeat(64);
  for (const row of rows) {
    if (row.seq >= fromSeq) {
      const hash = plainHash(prev, row);
      db.prepare('UPDATE audit_log SET prev_hash = ?, hash = ? WHERE seq = ?').run(prev, hash, row.seq);
      prev = hash;
    } else {
      prev = row.hash;
    }
  }
}

const triggers = (db: Sqlite.Database): string[] =>
  (
    db.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log' ORDER BY name").all() as { name: string }[]
  ).map((t) => t.name);

describe('the audit log is tamper-evident', () => {
  let dir: { path: string; remove: () => void };
  let t: TestPlane | undefined;
  const start = async (auditHeadIntervalMs?: number) => {
    t = await startTestPlane({ dataDir: dir.path }, auditHeadIntervalMs === undefined ? {} : { auditHeadIntervalMs });
    return t;
  };
  const stop = async () => {
    await t?.stop();
    t = undefined;
  };
  afterEach(async () => {
    await stop();
    dir?.remove();
  });

  async function planeWithRows(n: number): Promise<TestPlane> {
    dir = tempDir('ph-audit-');
    const plane = await start();
    for (let i = 0; i < n; i += 1) expect((await plane.op('keys.create', { name: `k${i}`, role: 'viewer' })).status).toBe(200);
    return plane;
  }

  it('finds a row rewritten with every later hash recomputed, because the hashes are keyed', async () => {
    await planeWithRows(4);
    expect((await t!.op('audit.verify')).body).toMatchObject({ intact: true, firstBad: null });
    await stop();
    tamper(dir.path, (db) => {
      db.exec('DROP TRIGGER audit_log_no_update');
      db.prepare("UPDATE audit_log SET actor = 'key:mallory' WHERE seq = 3").run();
      recomputePlainHashes(db, 3);
    });
    const plane = await start();
    const verified = await plane.op('audit.verify');
    expect(verified).toMatchObject({ status: 200, body: { intact: false, rows: 2, firstBad: { seq: 3, reason: 'hash' } } });
    expect((await plane.op('audit.list')).body.chainIntact).toBe(false);
  });

  it('re-creates dropped append-only triggers at start and records that it had to', async () => {
    await planeWithRows(2);
    await stop();
    tamper(dir.path, (db) => {
      db.exec('DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete');
      expect(triggers(db)).toEqual([]);
    });
    const plane = await start();
    const db = plane.plane.store.db;
    expect(triggers(db)).toEqual(['audit_log_no_delete', 'audit_log_no_update']);
    expect(() => db.prepare("UPDATE audit_log SET actor = 'x' WHERE seq = 1").run()).toThrow(/append-only/);
    expect(() => db.prepare('DELETE FROM audit_log WHERE seq = 1').run()).toThrow(/append-only/);
    const entries = (await plane.op('audit.list')).body.entries as { action: string; detail: string }[];
    expect(entries.find((e) => e.action === 'audit.triggers.restored')?.detail).toBe('audit_log_no_update, audit_log_no_delete');
    expect((await plane.op('audit.verify')).body.intact).toBe(true);
  });

  it('detects rows deleted from the end, against the head written outside the database', async () => {
    const plane = await planeWithRows(5);
    const rows = (await plane.op('audit.verify')).body.rows as number;
    await stop();
    tamper(dir.path, (db) => {
      db.exec('DROP TRIGGER audit_log_no_delete');
      db.prepare('DELETE FROM audit_log WHERE seq > ?').run(rows - 2);
    });
    const again = await start();
    const verified = (await again.op('audit.verify')).body;
    expect(verified).toMatchObject({ intact: false, firstBad: { seq: rows - 1, reason: 'truncated' } });
    const entries = (await again.op('audit.list')).body.entries as { action: string; actor: string }[];
    expect(entries.some((e) => e.action === 'audit.truncated' && e.actor === 'system')).toBe(true);
  });

  it('detects rows deleted from the end while the node runs', async () => {
    const plane = await planeWithRows(3);
    plane.plane.running.audit.writeHead();
    const rows = (await plane.op('audit.verify')).body.rows as number;
    tamper(dir.path, (db) => {
      db.exec('DROP TRIGGER audit_log_no_delete');
      db.prepare('DELETE FROM audit_log WHERE seq = ?').run(rows);
    });
    expect((await plane.op('audit.verify')).body).toMatchObject({ intact: false, firstBad: { seq: rows, reason: 'truncated' } });
  });

  it('writes the head out on its own every interval, and its next write records rows cut from the end meanwhile', async () => {
    dir = tempDir('ph-audit-');
    const plane = await start(300);
    for (let i = 0; i < 3; i += 1) expect((await plane.op('keys.create', { name: `k${i}`, role: 'viewer' })).status).toBe(200);
    const rows = (await plane.op('audit.verify')).body.rows as number;
    const headSeq = (): number => (JSON.parse(readFileSync(join(dir.path, 'audit.head'), 'utf8')) as { seq: number }).seq;
    // Nobody calls writeHead or stops the node: the timer alone carries the head out of the database.
    await until(() => headSeq() === rows, 5_000, 'the head file to name the last row');

    tamper(dir.path, (db) => {
      db.exec('DROP TRIGGER audit_log_no_delete');
      db.prepare('DELETE FROM audit_log WHERE seq >= ?').run(rows - 1);
    });
    const truncated = () =>
      (
        plane.plane.store.db.prepare("SELECT detail FROM audit_log WHERE action = 'audit.truncated'").get() as
          { detail: string } | undefined
      )?.detail;
    await until(() => truncated() !== undefined, 5_000, 'the next head write to record the cut');
    expect(truncated()).toMatch(new RegExp(`^rows from ${rows - 1} to ${rows}, written out at `));
    expect((await plane.op('audit.verify')).body).toMatchObject({ intact: false, firstBad: { seq: rows - 1, reason: 'truncated' } });
  });

  it('still verifies the unkeyed rows an earlier version wrote, and keys every row from the upgrade on', async () => {
    dir = tempDir('ph-audit-');
    const old = openStore({ path: join(dir.path, 'pilothouse.db'), migrations: securityMigrations.filter((m) => m.version === 1) });
    let prev = '0'.repeat(64);
    for (let seq = 1; seq <= 3; seq += 1) {
      const row = {
        seq,
        at: new Date().toISOString(),
        actor: 'key:old',
        action: 'keys.create',
        target: `k${seq}`,
        outcome: 'ok',
        detail: null,
      };
      const hash = plainHash(prev, row);
      old
        .prepare('INSERT INTO audit_log VALUES (@seq, @at, @actor, @action, @target, @outcome, @detail, @prev, @hash)')
        .run({ ...row, prev, hash });
      prev = hash;
    }
    old.close();
    const plane = await start();
    expect((await plane.op('keys.create', { name: 'after', role: 'viewer' })).status).toBe(200);
    const verified = (await plane.op('audit.verify')).body;
    expect(verified).toMatchObject({ intact: true, firstBad: null });
    expect(verified.rows).toBeGreaterThan(3);
    const actions = ((await plane.op('audit.list')).body.entries as Row[]).map((e) => [e.action, e.detail]);
    expect(actions).toContainEqual(['audit.keyed', 'rows 1 to 3 were written before the audit key existed and carry unkeyed hashes']);
    const newest = (await plane.op('audit.list', { limit: 1 })).body.entries[0] as Row;
    expect(newest.hash).not.toBe(
      plainHash((plane.plane.store.db.prepare('SELECT hash FROM audit_log WHERE seq = ?').get(newest.seq - 1) as Row).hash, newest),
    );
  });
});
