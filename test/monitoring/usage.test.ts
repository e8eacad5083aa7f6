import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { UsageRecorder, usageToCsv } from '../../main/monitoring';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';
import { token } from '../security/oauth-helpers';
import { fakeClock } from './fake-clock';
import { monitoringDb } from './store';

describe('usage recorder', () => {
  const open: { close: () => void }[] = [];
  afterEach(() => open.splice(0).forEach((s) => s.close()));

  it('sums requests, errors and bytes per key and route over a range, grouped as asked', () => {
    const store = monitoringDb();
    open.push(store);
    const clock = fakeClock(Date.UTC(2026, 10, 24, 6, 0, 0));
    const usage = new UsageRecorder(store.db, clock);
    usage.record('k1', 'GET /a', false, 0, 100);
    usage.record('k1', 'GET /a', true, 0, 50);
    usage.flush();
    clock.advance(60_000);
    usage.record('k1', 'POST /b', false, 20, 10);
    usage.record(null, 'GET /a', false, 0, 5);
    const from = clock.now() - 60_000;
    expect(usage.report(from, clock.now() + 60_000)).toEqual([
      { keyId: 'k1', route: 'GET /a', requests: 2, errors: 1, bytesIn: 0, bytesOut: 150, tier: '', refused: 0 },
      { keyId: '(none)', route: 'GET /a', requests: 1, errors: 0, bytesIn: 0, bytesOut: 5, tier: '', refused: 0 },
      { keyId: 'k1', route: 'POST /b', requests: 1, errors: 0, bytesIn: 20, bytesOut: 10, tier: '', refused: 0 },
    ]);
    expect(usage.report(from, clock.now() + 60_000, 'key')).toEqual([
      { keyId: 'k1', route: '*', requests: 3, errors: 1, bytesIn: 20, bytesOut: 160, tier: '', refused: 0 },
      { keyId: '(none)', route: '*', requests: 1, errors: 0, bytesIn: 0, bytesOut: 5, tier: '', refused: 0 },
    ]);
    expect(usage.report(clock.now(), clock.now() + 60_000, 'route').map((r) => [r.route, r.requests])).toEqual([
      ['GET /a', 1],
      ['POST /b', 1],
    ]);
    clock.advance(91 * 24 * 3_600_000);
    expect(usage.prune()).toBe(3);
  });

  it('counts calls per key and operation for the operations audited by count, and prunes them with the usage', () => {
    const store = monitoringDb();
    open.push(store);
    const clock = fakeClock(Date.UTC(2026, 10, 24, 6, 0, 0));
    const usage = new UsageRecorder(store.db, clock);
    for (let i = 0; i < 40; i += 1) usage.countOperation('k1', 'cache.put', i % 10 === 0);
    usage.countOperation(null, 'jobs.enqueue', false);
    usage.flush();
    clock.advance(60_000);
    usage.countOperation('k1', 'cache.put', false);
    expect(usage.operations(clock.now() - 60_000, clock.now() + 60_000)).toEqual([
      { keyId: 'k1', operation: 'cache.put', calls: 41, errors: 4 },
      { keyId: '(none)', operation: 'jobs.enqueue', calls: 1, errors: 0 },
    ]);
    clock.advance(91 * 24 * 3_600_000);
    expect(usage.prune()).toBe(3);
    expect(usage.operations(0, clock.now())).toEqual([]);
  });

  it('counts refusals and the tier per key, and reports who keeps hitting their limit', () => {
    const store = monitoringDb();
    open.push(store);
    const clock = fakeClock(Date.UTC(2026, 10, 24, 6, 0, 0));
    const usage = new UsageRecorder(store.db, clock);
    usage.record('k1', 'GET /a', false, 0, 10, clock.now(), 'free');
    usage.record('k1', 'GET /a', true, 0, 10, clock.now(), 'free', true);
    usage.record('k1', 'GET /a', true, 0, 10, clock.now(), 'free', true);
    usage.record('k2', 'GET /a', false, 0, 10, clock.now(), 'premium');
    const byKey = usage.report(clock.now() - 60_000, clock.now() + 60_000, 'key');
    expect(byKey.map((r) => [r.keyId, r.tier, r.requests, r.errors, r.refused])).toEqual([
      ['k1', 'free', 3, 2, 2],
      ['k2', 'premium', 1, 0, 0],
    ]);
    expect([...usage.refusedByKey(clock.now() - 60_000, clock.now() + 60_000)]).toEqual([['k1', 2]]);
  });

  it('writes CSV by RFC 4180 and defuses spreadsheet formulas', () => {
    const csv = usageToCsv([
      { keyId: 'k1', route: 'GET /a,b', requests: 1, errors: 0, bytesIn: 0, bytesOut: 2, tier: 'free', refused: 0 },
      { keyId: '=cmd"x"', route: 'GET /c', requests: 3, errors: 1, bytesIn: 4, bytesOut: 5, tier: 'basic', refused: 1 },
    ]);
    expect(csv).toBe(
      'keyId,route,requests,errors,bytesIn,bytesOut,tier,refused\r\nk1,"GET /a,b",1,0,0,2,free,0\r\n"\'=cmd""x""",GET /c,3,1,4,5,basic,1\r\n',
    );
  });
});

describe('usage reports through the API', () => {
  let t: TestPlane;
  beforeAll(async () => {
    t = await startTestPlane();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('exports requests, errors and bytes per API key and route as CSV and JSON, from the console operation and REST', async () => {
    const created = (await t.op('keys.create', { name: 'reporter', role: 'operator' })).body as { key: { id: string }; secret: string };
    for (let i = 0; i < 4; i += 1) expect((await t.op('system.status', {}, created.secret)).status).toBe(200);
    expect((await t.op('keys.list', {}, created.secret)).status).toBe(403);
    await new Promise((r) => setTimeout(r, 30));

    const exported = await t.op('monitoring.usage.export', { format: 'csv' }, created.secret);
    expect(exported.status).toBe(200);
    expect(exported.body.contentType).toBe('text/csv; charset=utf-8');
    expect(exported.body.filename).toMatch(/^pilothouse-usage_.*\.csv$/);
    const lines = (exported.body.content as string).trimEnd().split('\r\n');
    expect(lines[0]).toBe('keyId,route,requests,errors,bytesIn,bytesOut,tier,refused');
    const statusLine = lines.find((l) => l.startsWith(`${created.key.id},POST /api/v2/ops/system.status,`));
    expect(statusLine?.split(',').slice(2, 4)).toEqual(['4', '0']);
    expect(Number(statusLine?.split(',')[4])).toBe(8); // "{}" is 2 bytes, four times
    expect(Number(statusLine?.split(',')[5])).toBeGreaterThan(4 * 100);
    expect(
      lines
        .find((l) => l.startsWith(`${created.key.id},POST /api/v2/ops/keys.list,`))
        ?.split(',')
        .slice(2, 4),
    ).toEqual(['1', '1']);

    const rest = await fetch(`${t.url}/api/v2/monitoring/usage?format=csv&groupBy=key`, {
      headers: { authorization: `Bearer ${created.secret}` },
    });
    expect(rest.status).toBe(200);
    expect(rest.headers.get('content-type')).toContain('text/csv');
    expect(rest.headers.get('content-disposition')).toMatch(/^attachment; filename="pilothouse-usage_.*\.csv"$/);
    const restLines = (await rest.text()).trimEnd().split('\r\n');
    expect(restLines.find((l) => l.startsWith(`${created.key.id},*,`))?.split(',')[2]).toBe('6');

    const json = await fetch(`${t.url}/api/v2/monitoring/usage?format=json&groupBy=route`, {
      headers: { authorization: `Bearer ${t.adminKey}` },
    });
    const report = (await json.json()) as { rows: { route: string; requests: number }[] };
    expect(report.rows.find((r) => r.route === 'POST /api/v2/ops/system.status')?.requests).toBe(4);

    const perKey = JSON.parse((await t.op('monitoring.usage.export', { format: 'json' })).body.content as string) as {
      byKey: { keyId: string; tier: string; requests: number }[];
    };
    expect(perKey.byKey.find((r) => r.keyId === created.key.id)).toMatchObject({ tier: 'premium', requests: 7 });

    expect((await token(t.url, created.secret)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 30));
    const byRoute = JSON.parse((await t.op('monitoring.usage.export', { format: 'json' })).body.content as string) as {
      rows: { keyId: string; route: string; requests: number }[];
    };
    expect(byRoute.rows.find((r) => r.route === 'POST /oauth/token')).toMatchObject({ keyId: created.key.id, requests: 1 });

    const bad = await fetch(`${t.url}/api/v2/monitoring/usage?format=xml`, { headers: { authorization: `Bearer ${t.adminKey}` } });
    expect(bad.status).toBe(400);
  });
});
