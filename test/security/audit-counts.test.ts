import { join } from 'node:path';
import Sqlite from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { AuditRecord } from '../../main/core';
import { AuditCounts, type CountedDetail } from '../../main/security';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';
import { tempDir } from '../helpers/temp-dir';
import { until } from '../helpers/until';
import { fakeClock } from '../monitoring/fake-clock';

interface AuditRow {
  seq: number;
  actor: string;
  action: string;
  target: string | null;
  outcome: string;
  detail: string | null;
}

describe('counted operations reach the audit log as tallies per minute', () => {
  it('writes one row per actor, operation, outcome and ended minute with the count and the error codes', () => {
    const clock = fakeClock(Date.UTC(2026, 11, 3, 12, 0, 10));
    const written: AuditRecord[] = [];
    const counts = new AuditCounts((r) => written.push(r), clock);
    for (let i = 0; i < 300; i += 1) counts.count({ actor: 'key:a', keyId: 'a', action: 'cache.put', outcome: 'ok' });
    counts.count({ actor: 'key:a', keyId: 'a', action: 'cache.put', outcome: 'error', code: 'PH_CACHE_VALUE_TOO_LARGE' });
    counts.count({ actor: 'key:b', keyId: 'b', action: 'jobs.enqueue', outcome: 'ok' });
    expect(counts.flush()).toBe(0);
    clock.advance(60_000);
    counts.count({ actor: 'key:a', keyId: 'a', action: 'cache.put', outcome: 'ok' });
    expect(counts.flush()).toBe(3);
    const details = written.map((r) => ({ ...r, detail: JSON.parse(r.detail as string) as CountedDetail }));
    expect(details).toEqual(
      expect.arrayContaining([
        {
          actor: 'key:a',
          action: 'cache.put',
          target: null,
          outcome: 'ok',
          detail: { counted: 300, from: '2026-12-03T12:00:00.000Z', to: '2026-12-03T12:01:00.000Z' },
        },
        {
          actor: 'key:a',
          action: 'cache.put',
          target: null,
          outcome: 'error',
          detail: { counted: 1, from: '2026-12-03T12:00:00.000Z', to: '2026-12-03T12:01:00.000Z', codes: { PH_CACHE_VALUE_TOO_LARGE: 1 } },
        },
        {
          actor: 'key:b',
          action: 'jobs.enqueue',
          target: null,
          outcome: 'ok',
          detail: { counted: 1, from: '2026-12-03T12:00:00.000Z', to: '2026-12-03T12:01:00.000Z' },
        },
      ]),
    );
    // The minute still running is written only when asked for everything (at stop).
    expect(counts.flush(true)).toBe(1);
    expect(JSON.parse(written[3]?.detail as string)).toMatchObject({ counted: 1, from: '2026-12-03T12:01:00.000Z' });
  });

  it('keeps a tally whose row could not be written, and writes it on the next flush', () => {
    const clock = fakeClock(Date.UTC(2026, 11, 3, 12, 0, 10));
    let fail = true;
    const written: AuditRecord[] = [];
    const counts = new AuditCounts((r) => {
      if (fail) throw Object.assign(new Error('disk full'), { code: 'SQLITE_FULL' });
      written.push(r);
    }, clock);
    counts.count({ actor: 'key:a', keyId: 'a', action: 'realtime.publish', outcome: 'ok' });
    expect(() => counts.flush(true)).toThrow('disk full');
    fail = false;
    expect(counts.flush(true)).toBe(1);
    expect(JSON.parse(written[0]?.detail as string)).toMatchObject({ counted: 1 });
  });
});

describe('a busy program on a running node', () => {
  let dir: { path: string; remove: () => void } | undefined;
  let t: TestPlane | undefined;
  afterEach(async () => {
    await t?.stop();
    t = undefined;
    dir?.remove();
  });

  it('adds a few audit rows carrying the count for 500 cache writes, not one row each, and counts them in usage', async () => {
    dir = tempDir('ph-audit-counts-');
    t = await startTestPlane({ dataDir: dir.path });
    const made = await t.op('keys.create', { name: 'busy program', role: 'operator' });
    expect(made.status).toBe(200);
    const program = made.body.secret as string;
    const keyId = made.body.key.id as string;
    const auditRows = (): AuditRow[] => {
      const db = new Sqlite(join(dir!.path, 'pilothouse.db'), { readonly: true });
      try {
        return db.prepare("SELECT * FROM audit_log WHERE action = 'cache.put' ORDER BY seq").all() as AuditRow[];
      } finally {
        db.close();
      }
    };
    for (let batch = 0; batch < 50; batch += 1) {
      const writes = Array.from({ length: 10 }, (_, i) =>
        t!.op('cache.put', { namespace: 'busy', key: `k${(batch * 10 + i) % 97}`, value: { batch, i } }, program),
      );
      for (const res of await Promise.all(writes)) expect(res.status).toBe(200);
    }
    // While the minute runs the writes are tallied, not written one by one.
    expect(auditRows().length).toBeLessThanOrEqual(1);
    const usage = await t.op('monitoring.usage', {});
    expect(usage.body.operations).toContainEqual({ keyId, operation: 'cache.put', calls: 500, errors: 0 });

    // Stopping (what SIGTERM does) writes the minute still running: no write goes unaudited.
    await t.plane.stop();
    const rows = auditRows();
    expect(rows.length).toBeGreaterThanOrEqual(1);
    expect(rows.length).toBeLessThanOrEqual(2);
    for (const row of rows) expect(row).toMatchObject({ actor: `key:${keyId}`, outcome: 'ok', target: null });
    const total = rows.reduce((sum, row) => sum + (JSON.parse(row.detail as string) as CountedDetail).counted, 0);
    expect(total).toBe(500);
  });

  it('tallies a key’s publishes through the socket, refused ones with their code, and its heartbeats, as the operations are', async () => {
    dir = tempDir('ph-audit-socket-');
    t = await startTestPlane({ dataDir: dir.path });
    const made = await t.op('keys.create', { name: 'chatty program', role: 'operator' });
    const program = made.body.secret as string;
    const keyId = made.body.key.id as string;
    const ws = new WebSocket(`${t.url.replace('http', 'ws')}/ws`, { headers: { authorization: `Bearer ${program}` } });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const answers = new Map<number, { type: string; error?: { code: string } }>();
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as { type: string; id?: number; error?: { code: string } };
      if (typeof frame.id === 'number') answers.set(frame.id, frame);
    });
    const send = async (id: number, frame: object): Promise<{ type: string; error?: { code: string } }> => {
      ws.send(JSON.stringify({ ...frame, id }));
      await until(() => answers.has(id), 5_000, `the answer to frame ${id}`);
      return answers.get(id) as { type: string };
    };
    expect((await send(1, { type: 'publish', room: 'orders', data: { n: 1 } })).type).toBe('reply');
    expect((await send(2, { type: 'publish', room: 'orders', data: { n: 2 } })).type).toBe('reply');
    expect((await send(3, { type: 'publish', user: `key:${keyId}`, data: 'hi' })).type).toBe('reply');
    expect((await send(4, { type: 'publish', all: true, data: 'everyone' })).error?.code).toBe('PH_REALTIME_FORBIDDEN');
    ws.close();
    const registered = await t.op('services.register', {
      name: 'beating',
      address: '127.0.0.1',
      port: 9,
      checks: [{ kind: 'ttl', ttlMs: 60_000 }],
    });
    const instance = registered.body.instance.id as string;
    for (const status of ['passing', 'critical'])
      expect((await t.op('services.heartbeat', { id: instance, status }, program)).status).toBe(200);

    await t.plane.stop();
    const db = new Sqlite(join(dir.path, 'pilothouse.db'), { readonly: true });
    const rows = db.prepare('SELECT * FROM audit_log WHERE actor = ? ORDER BY seq').all(`key:${keyId}`) as AuditRow[];
    db.close();
    const tally = (action: string, outcome: string): CountedDetail | undefined => {
      const row = rows.find((r) => r.action === action && r.outcome === outcome);
      return row === undefined ? undefined : (JSON.parse(row.detail as string) as CountedDetail);
    };
    expect(tally('realtime.publish', 'ok')).toMatchObject({ counted: 3 });
    expect(tally('realtime.publish', 'error')).toMatchObject({ counted: 1, codes: { PH_REALTIME_FORBIDDEN: 1 } });
    expect(tally('services.heartbeat', 'ok')).toMatchObject({ counted: 2 });
  });

  it("puts a lower-role key's refused writes on record, tallied by the minute with their code, over REST and the ops endpoint", async () => {
    dir = tempDir('ph-audit-refused-');
    t = await startTestPlane({ dataDir: dir.path });
    const made = await t.op('keys.create', { name: 'curious viewer', role: 'viewer' });
    const viewer = made.body.secret as string;
    const keyId = made.body.key.id as string;
    for (let i = 0; i < 3; i += 1) {
      const escalate = await t.op('keys.create', { name: `mine-${i}`, role: 'admin' }, viewer);
      expect(escalate.status).toBe(403);
      expect(escalate.body.error.code).toBe('PH_FORBIDDEN');
    }
    const register = await fetch(`${t.url}/api/v2/services`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${viewer}` },
      body: JSON.stringify({ name: 'shadow', address: '127.0.0.1', port: 9 }),
    });
    expect(register.status).toBe(403);
    expect(((await register.json()) as { error: { code: string } }).error.code).toBe('PH_FORBIDDEN');

    await t.plane.stop();
    const db = new Sqlite(join(dir.path, 'pilothouse.db'), { readonly: true });
    const refused = db
      .prepare("SELECT * FROM audit_log WHERE actor = ? AND outcome = 'error' ORDER BY seq")
      .all(`key:${keyId}`) as AuditRow[];
    db.close();
    const tally = (action: string): CountedDetail | undefined => {
      const row = refused.find((r) => r.action === action);
      return row === undefined ? undefined : (JSON.parse(row.detail as string) as CountedDetail);
    };
    expect(tally('keys.create')).toMatchObject({ counted: 3, codes: { PH_FORBIDDEN: 3 } });
    expect(tally('services.register')).toMatchObject({ counted: 1, codes: { PH_FORBIDDEN: 1 } });
  });
});
