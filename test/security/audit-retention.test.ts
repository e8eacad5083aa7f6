import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import Sqlite from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditLog, AuditRetention, FleetAuditTrail, securityMigrations, verifyAuditArchive } from '../../main/security';
import { chainHash } from '../../main/security/audit-chain';
import { openStore, type Database } from '../../main/store';
import { tempDir } from '../helpers/temp-dir';
import { fakeClock } from '../monitoring/fake-clock';

const DAY = 24 * 3_600_000;
const key = randomBytes(32);

describe('audit retention keeps the chain verifiable', () => {
  let dir: { path: string; remove: () => void };
  let db: Database;
  const clock = fakeClock(Date.UTC(2026, 0, 1));
  const dbPath = () => join(dir.path, 'pilothouse.db');
  const open = (): AuditLog => {
    const log = new AuditLog(db, clock, { key, headPath: join(dir.path, 'audit.head') });
    log.checkAtStart(false);
    return log;
  };
  const fill = (log: AuditLog, n: number, everyMs = 1000): void => {
    for (let i = 0; i < n; i += 1) {
      log.append({ actor: 'key:k', action: 'keys.create', target: `k${i}`, outcome: 'ok' });
      clock.advance(everyMs);
    }
  };
  const reopenDb = (): void => {
    db.close();
    db = openStore({ path: dbPath(), migrations: securityMigrations });
  };
  /** What someone with write access to the file can do: open it with SQLite, behind Pilothouse's back. */
  const tamper = (change: (raw: Sqlite.Database) => void): void => {
    db.close();
    const raw = new Sqlite(dbPath());
    try {
      change(raw);
    } finally {
      raw.close();
    }
    db = openStore({ path: dbPath(), migrations: securityMigrations });
  };

  const setUp = (): AuditLog => {
    dir = tempDir('ph-audit-cut-');
    clock.set(Date.UTC(2026, 0, 1));
    db = openStore({ path: dbPath(), migrations: securityMigrations });
    const log = new AuditLog(db, clock, { key, headPath: join(dir.path, 'audit.head') });
    log.checkAtStart(true);
    return log;
  };
  afterEach(() => {
    db?.close();
    dir?.remove();
  });

  it('cuts the oldest rows beyond the row limit, and the chain verifies from the anchor, after a restart too', async () => {
    const log = setUp();
    fill(log, 3000);
    const retention = new AuditRetention(db, log, clock, null, key);
    const report = await retention.cut({ maxAgeMs: 365 * DAY, maxRows: 1000, archiveDir: null });
    // 3000 rows, the newest 1000 kept.
    expect(report).toMatchObject({ cut: 2000, refused: null, archive: null });
    expect(report.anchor?.seq).toBe(2000);
    const count = db.prepare('SELECT count(*) AS n, min(seq) AS first FROM audit_log').get() as { n: number; first: number };
    expect(count).toEqual({ n: 1001, first: 2001 });
    expect(log.verify()).toMatchObject({ intact: true, rows: 1001, firstBad: null, anchor: report.anchor });
    expect(log.list({ limit: 1 }).entries[0]).toMatchObject({ action: 'audit.cut', actor: 'system', outcome: 'ok' });
    // Past the anchor the log stays append-only.
    expect(() => db.prepare('DELETE FROM audit_log WHERE seq = 2001').run()).toThrow(/append-only/);
    reopenDb();
    expect(open().verify()).toMatchObject({ intact: true, rows: 1001, anchor: report.anchor });
  });

  it('cuts rows older than the age limit and keeps the newest row even when every row is old', async () => {
    const log = setUp();
    fill(log, 50, DAY);
    const retention = new AuditRetention(db, log, clock, null, key);
    clock.advance(10 * DAY);
    const first = await retention.cut({ maxAgeMs: 30 * DAY, maxRows: 1_000_000, archiveDir: null });
    // Rows 1..30 are more than 30 days old now (row i was written at day i-1, it is day 60).
    expect(first.anchor?.seq).toBe(30);
    expect(log.verify()).toMatchObject({ intact: true, firstBad: null });
    clock.advance(365 * DAY);
    const second = await retention.cut({ maxAgeMs: 30 * DAY, maxRows: 1_000_000, archiveDir: null });
    // All old: everything but the newest row (the first cut's own audit.cut row) goes.
    expect(second.anchor?.seq).toBe(50);
    expect(db.prepare('SELECT seq, action FROM audit_log').all()).toEqual([
      { seq: 51, action: 'audit.cut' },
      { seq: 52, action: 'audit.cut' },
    ]);
    expect(log.verify()).toMatchObject({ intact: true, rows: 2 });
  });

  it('finds old rows deleted without an anchor, and a forged anchor the head does not vouch for', async () => {
    const log = setUp();
    fill(log, 40);
    log.writeHead(true);
    tamper((raw) => {
      raw.exec('DROP TRIGGER audit_log_no_delete');
      raw.prepare('DELETE FROM audit_log WHERE seq <= 10').run();
    });
    expect(open().verify()).toMatchObject({ intact: false, firstBad: { seq: 1, reason: 'sequence' } });

    tamper((raw) => {
      const row = raw.prepare('SELECT seq, hash FROM audit_log WHERE seq = 20').get() as { seq: number; hash: string };
      raw.exec('DROP TRIGGER audit_log_no_delete');
      raw.prepare("INSERT INTO audit_anchor (id, seq, hash, cut_at) VALUES (1, ?, ?, 'x')").run(row.seq, row.hash);
      raw.prepare('DELETE FROM audit_log WHERE seq <= 20').run();
    });
    const reopened = open();
    expect(reopened.verify()).toMatchObject({ intact: false, firstBad: { seq: 1, reason: 'anchor' } });
    expect(reopened.list({ limit: 10 }).entries.map((e) => e.action)).toContain('audit.anchor.unvouched');
  });

  it('refuses to cut rows that do not verify, and keeps them as evidence', async () => {
    const log = setUp();
    fill(log, 30);
    tamper((raw) => {
      raw.exec('DROP TRIGGER audit_log_no_update');
      raw.prepare("UPDATE audit_log SET actor = 'mallory' WHERE seq = 5").run();
    });
    const reopened = open();
    const report = await new AuditRetention(db, reopened, clock, null, key).cut({ maxAgeMs: 365 * DAY, maxRows: 10, archiveDir: null });
    expect(report).toMatchObject({ cut: 0, anchor: null, refused: 'row 5 does not match its hash' });
    expect((db.prepare('SELECT count(*) AS n FROM audit_log WHERE seq <= 20').get() as { n: number }).n).toBe(20);
    expect(reopened.list({ limit: 1 }).entries[0]).toMatchObject({ action: 'audit.cut.refused', outcome: 'error' });
  });

  it('archives the cut rows to a gzip JSONL file that verifies on its own and joins the live chain', async () => {
    const log = setUp();
    fill(log, 500);
    const archiveDir = join(dir.path, 'audit-archive');
    const report = await new AuditRetention(db, log, clock, null, key).cut({ maxAgeMs: 365 * DAY, maxRows: 100, archiveDir });
    expect(report.archive).not.toBeNull();
    expect(readdirSync(archiveDir)).toEqual(['audit-local-1-400.jsonl.gz']);
    const archive = report.archive as string;
    const checked = await verifyAuditArchive(archive, { key });
    expect(checked).toEqual({ intact: true, rows: 400, fromSeq: 1, toSeq: 400, lastHash: report.anchor?.hash, firstBad: null });
    // The live chain goes on from the archive's last hash.
    expect((db.prepare('SELECT prev_hash FROM audit_log WHERE seq = 401').get() as { prev_hash: string }).prev_hash).toBe(checked.lastHash);

    const lines = gunzipSync(readFileSync(archive)).toString('utf8').trimEnd().split('\n');
    const edited = lines.map((line, i) => (i === 7 ? line.replace('"actor":"key:k"', '"actor":"key:m"') : line));
    writeFileSync(archive, gzipSync(`${edited.join('\n')}\n`));
    expect(await verifyAuditArchive(archive, { key })).toMatchObject({ intact: false, firstBad: { seq: 7, reason: 'hash' } });
    // Rows cut from the archive's end show through the signed trailer.
    writeFileSync(archive, gzipSync(`${[...lines.slice(0, 300), lines.at(-1)].join('\n')}\n`));
    expect(await verifyAuditArchive(archive, { key })).toMatchObject({ intact: false, firstBad: { reason: 'truncated' } });
    writeFileSync(archive, gzipSync(`${lines.join('\n')}\n`));
    expect(await verifyAuditArchive(archive, { key: randomBytes(32) })).toMatchObject({ intact: false });
  });

  it("cuts this node's copy of another node's chain at an anchor, and that chain still verifies from it", async () => {
    const log = setUp();
    const fleetKey = randomBytes(32);
    const insert = db.prepare(
      `INSERT INTO audit_remote (node, seq, chain_from, at, actor, action, target, outcome, detail, prev_hash, hash)
       VALUES ('node-b', @seq, 1, @at, 'key:b', 'keys.create', null, 'ok', null, @prev, @hash)`,
    );
    let prev = '0'.repeat(64);
    for (let seq = 1; seq <= 200; seq += 1) {
      const row = {
        seq,
        at: new Date(clock.now()).toISOString(),
        actor: 'key:b',
        action: 'keys.create',
        target: null,
        outcome: 'ok' as const,
        detail: null,
      };
      const hash = chainHash(fleetKey, prev, row);
      insert.run({ seq, at: row.at, prev, hash });
      prev = hash;
      clock.advance(DAY);
    }
    fill(log, 5);
    const trail = new FleetAuditTrail(db, log, 'node-a', fleetKey);
    const report = await new AuditRetention(db, log, clock, 'node-a', key).cut({
      maxAgeMs: 100 * DAY,
      maxRows: 1_000_000,
      archiveDir: null,
    });
    // Row n of node-b was written n-1 days after the first; 200 days and 5 s later, rows 1..101 are past 100 days.
    expect(report.remoteCut).toBe(101);
    expect(trail.verify()).toEqual([{ node: 'node-b', intact: true, rows: 99, firstBad: null }]);
    tamper((raw) => {
      raw.exec('DROP TRIGGER audit_remote_no_delete');
      raw.prepare("DELETE FROM audit_remote WHERE node = 'node-b' AND seq <= 120").run();
    });
    expect(new FleetAuditTrail(db, log, 'node-a', fleetKey).verify()).toEqual([
      { node: 'node-b', intact: false, rows: 0, firstBad: { seq: 102, reason: 'sequence' } },
    ]);
  });

  it("publishes the chain from after its anchor, so a node that never saw the cut rows verifies this node's chain", async () => {
    dir = tempDir('ph-audit-cut-');
    clock.set(Date.UTC(2026, 0, 1));
    const fleetKey = randomBytes(32);
    db = openStore({ path: dbPath(), migrations: securityMigrations });
    const log = new AuditLog(db, clock, { key, headPath: join(dir.path, 'audit.head'), fleetKey, node: 'node-a' });
    log.checkAtStart(true);
    fill(log, 300);
    await new AuditRetention(db, log, clock, 'node-a', key).cut({ maxAgeMs: 365 * DAY, maxRows: 100, archiveDir: null });
    const published = [...new FleetAuditTrail(db, log, 'node-a', fleetKey).replicaSource().rows()];
    expect(published[0]?.[1]).toMatchObject({ seq: 201, from: 201 });

    const other = openStore({ path: join(dir.path, 'other.db'), migrations: securityMigrations });
    try {
      const otherLog = new AuditLog(other, clock, { key: randomBytes(32), headPath: null, fleetKey, node: 'node-b' });
      const otherTrail = new FleetAuditTrail(other, otherLog, 'node-b', fleetKey);
      const apply = otherTrail.replicaSource().apply;
      for (const [id, record] of published) apply(id, record);
      expect(otherTrail.verify()).toEqual([{ node: 'node-a', intact: true, rows: published.length, firstBad: null }]);
    } finally {
      other.close();
    }
  });
});
