import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SecretStore, verifyAuditArchive } from '../../main/security';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';
import { tempDir } from '../helpers/temp-dir';
import { until } from '../helpers/until';
import { fakeClock } from '../monitoring/fake-clock';

const DAY = 24 * 3_600_000;
const filler = 'x'.repeat(2000);

/** Old history in every table the maintenance job cuts, written as each capability would have, a year ago. */
function seedOldHistory(t: TestPlane, at: number): void {
  const db = t.plane.store.db;
  db.transaction(() => {
    const batch = db.prepare(
      "INSERT INTO batches (id, mode, status, spec, report, created_at, finished_at) VALUES (?, 'atomic', 'succeeded', ?, ?, ?, ?)",
    );
    const op = db.prepare("INSERT INTO batch_ops (batch_id, idx, status) VALUES (?, 0, 'succeeded')");
    const job = db.prepare(
      `INSERT INTO jobs (type, payload, state, run_at, max_attempts, backoff_ms, created_at, finished_at)
       VALUES ('cache.warm', ?, ?, ?, 3, 1000, ?, ?)`,
    );
    for (let i = 0; i < 1500; i += 1) {
      batch.run(`old-${i}`, filler, filler, at, at);
      op.run(`old-${i}`);
      job.run(JSON.stringify({ filler }), i % 2 === 0 ? 'completed' : 'dead', at, at, at);
    }
    db.prepare(
      `INSERT INTO webhook_endpoints (id, url, description, event_types, filter, enabled, created_at, created_by, updated_at)
       VALUES ('wh-old', 'http://127.0.0.1:9/hook', '', '["cache.*"]', '{}', 1, ?, 'test', ?)`,
    ).run(at, at);
    const delivery = db.prepare(
      `INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event_type, body, status, attempts, created_at, finished_at)
       VALUES (?, 'wh-old', ?, 'cache.invalidate', ?, 'delivered', 1, ?, ?)`,
    );
    const verification = db.prepare(
      `INSERT INTO backup_verifications (snapshot_id, source_id, at, ok, pages_checked, bad_pages, image_hash_ok, integrity, duration_ms)
       VALUES ('gone', 'src', ?, 1, 10, '[]', 1, '["ok"]', 5)`,
    );
    const usage = db.prepare(
      "INSERT INTO monitoring_usage (minute, key_id, route, requests, errors, bytes_in, bytes_out) VALUES (?, 'k', ?, 1, 0, 0, 0)",
    );
    const opUsage = db.prepare(
      "INSERT INTO monitoring_op_usage (minute, key_id, operation, calls, errors) VALUES (?, 'k', 'cache.put', 1, 0)",
    );
    const sample = db.prepare("INSERT INTO monitoring_samples (res, series, ts, avg, min, max, n) VALUES (3600, 'rss', ?, 1, 1, 1, 1)");
    for (let i = 0; i < 300; i += 1) {
      delivery.run(`d-${i}`, `e-${i}`, filler, at, at);
      verification.run(at + i);
      usage.run(at - (at % 60_000) - i * 60_000, `GET /r${i}`);
      opUsage.run(at - (at % 60_000) - i * 60_000);
      sample.run(at - i * 3_600_000);
    }
    db.prepare('INSERT INTO backup_prunes (at, removed_snapshots, removed_pages, freed_bytes) VALUES (?, 1, 1, 1)').run(at);
  })();
}

const count = (t: TestPlane, table: string): number =>
  (t.plane.store.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;

describe('the maintenance job', () => {
  let dir: { path: string; remove: () => void } | undefined;
  let t: TestPlane | undefined;
  afterEach(async () => {
    await t?.stop();
    t = undefined;
    dir?.remove();
  });

  it('cuts every table past retention, keeps the audit chain verifiable with an archive that verifies on its own, and shrinks the file', async () => {
    dir = tempDir('ph-maintenance-');
    const clock = fakeClock(Date.now() - 400 * DAY);
    // The daily run is set for 29 February, so the one this test enqueues is the one that cuts.
    t = await startTestPlane(
      { dataDir: dir.path, retention: { auditDays: 30, auditArchive: true, maintenanceCron: '0 0 29 2 *' } },
      { clock },
    );
    for (let i = 0; i < 20; i += 1) expect((await t.op('keys.create', { name: `old-${i}`, role: 'viewer' })).status).toBe(200);
    seedOldHistory(t, clock.now());
    clock.advance(400 * DAY);
    expect((await t.op('keys.create', { name: 'recent', role: 'viewer' })).status).toBe(200);
    const auditBefore = count(t, 'audit_log');

    const dbFile = join(dir.path, 'pilothouse.db');
    t.plane.store.db.pragma('wal_checkpoint(TRUNCATE)');
    const bytesBefore = statSync(dbFile).size;
    const enqueued = await t.op('jobs.enqueue', { type: 'maintenance.run', payload: { node: t.plane.nodeId } });
    expect(enqueued.status).toBe(200);
    const id = enqueued.body.job.id as string;
    let done: any;
    await until(
      async () => {
        done = (await t!.op('jobs.get', { id })).body;
        return done.job.state === 'completed' || done.job.state === 'dead';
      },
      20_000,
      'the maintenance job to end',
    );
    expect(done.job.state).toBe('completed');
    expect(done.job.progress).toBe(1);
    expect(done.logs.map((l: { message: string }) => l.message)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^audit log: \d+ rows cut$/), expect.stringMatching(/^batches: 1500 rows cut$/)]),
    );

    for (const table of ['batches', 'batch_ops', 'webhook_deliveries']) {
      expect({ table, rows: count(t, table) }).toEqual({ table, rows: 0 });
    }
    // The backup's own schedules ride the queue's clock too: after the jump its daily maintenance and
    // the app database's snapshot ran, which may have added today's rows; none of the old ones is left.
    for (const table of ['backup_verifications', 'backup_prunes']) {
      const old = t.plane.store.db.prepare(`SELECT count(*) AS n FROM ${table} WHERE at < ?`).get(clock.now() - DAY) as { n: number };
      expect({ table, rows: old.n }).toEqual({ table, rows: 0 });
    }
    // Left: the maintenance job itself and its next daily run (beside the backup's repeating jobs).
    expect(t.plane.store.db.prepare("SELECT type FROM jobs WHERE type NOT LIKE 'backup.%'").all()).toEqual([
      { type: 'maintenance.run' },
      { type: 'maintenance.run' },
    ]);
    for (const table of ['monitoring_usage', 'monitoring_op_usage']) {
      const old = t.plane.store.db.prepare(`SELECT count(*) AS n FROM ${table} WHERE minute < ?`).get(clock.now() - 90 * DAY) as {
        n: number;
      };
      expect({ table, old: old.n }).toEqual({ table, old: 0 });
    }
    expect(
      (t.plane.store.db.prepare('SELECT count(*) AS n FROM monitoring_samples WHERE ts < ?').get(clock.now() - 90 * DAY) as { n: number })
        .n,
    ).toBe(0);

    // The audit chain: the year-old rows are gone, what is left verifies from the anchor.
    expect(count(t, 'audit_log')).toBeLessThan(auditBefore);
    const verified = await t.op('audit.verify', {});
    expect(verified.body).toMatchObject({ intact: true, firstBad: null });
    expect(verified.body.anchor.seq).toBeGreaterThanOrEqual(20);
    const archiveDir = join(dir.path, 'audit-archive');
    const [archive] = readdirSync(archiveDir);
    const key = new SecretStore(dir.path).get('audit-hmac');
    const checked = await verifyAuditArchive(join(archiveDir, archive as string), { key });
    expect(checked).toMatchObject({ intact: true, fromSeq: 1, toSeq: verified.body.anchor.seq, lastHash: verified.body.anchor.hash });

    // The file gave the cut pages back.
    const bytesAfter = statSync(dbFile).size;
    expect(bytesAfter).toBeLessThan(bytesBefore / 2);
    expect(done.job.result).toMatchObject({ bytesBefore: expect.any(Number), bytesAfter: expect.any(Number) });
    expect(done.job.result.freedPages).toBeGreaterThan(0);
  });

  it('is scheduled daily on its node at start, and the console reads the retention in force', async () => {
    dir = tempDir('ph-maintenance-');
    t = await startTestPlane({ dataDir: dir.path, retention: { batchDays: 3, maintenanceCron: '5 4 * * *' } });
    const jobs = await t.op('jobs.list', { type: 'maintenance.run' });
    expect(jobs.body.jobs).toHaveLength(1);
    expect(jobs.body.jobs[0]).toMatchObject({ repeatCron: '5 4 * * *', payload: { node: t.plane.nodeId } });
    const config = await t.op('system.config', {});
    expect(config.body.retention.schedule).toBe('5 4 * * *');
    expect(config.body.retention.cuts).toEqual(
      expect.arrayContaining([
        { name: 'batches', tables: ['batches', 'batch_ops'], keeps: '3 days' },
        { name: 'audit log', tables: ['audit_log', 'audit_remote'], keeps: '365 days, at most 1000000 rows' },
      ]),
    );
    expect(config.body.retention.capped.map((c: { name: string }) => c.name)).toContain('real-time room history');
    // A restart finds the run already queued rather than adding another.
    await t.plane.stop();
    t = await startTestPlane({ dataDir: dir.path, retention: { batchDays: 3, maintenanceCron: '5 4 * * *' } });
    expect((await t.op('jobs.list', { type: 'maintenance.run' })).body.jobs).toHaveLength(1);
  });
});
