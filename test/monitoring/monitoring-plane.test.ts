import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventMessage } from '../../contract/events';
import { startTestPlane, type TestPlane } from '../helpers/control-plane';
import { startRedis, type TestRedis } from '../helpers/redis-server';
import { expectPromtoolAccepts } from './exposition';

const settle = () => new Promise((r) => setTimeout(r, 30));

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 8_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('condition not met in time');
}

describe('monitoring in a running control plane (with Redis)', () => {
  let redis: TestRedis;
  let t: TestPlane;
  const events: EventMessage[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    t = await startTestPlane({ redisUrl: redis.url });
    t.plane.running.bus.subscribe((m) => events.push(m));
  });
  afterAll(async () => {
    await t?.stop();
    await redis?.stop();
  });

  it('times every console operation and every HTTP route, the 404s included', async () => {
    for (let i = 0; i < 3; i += 1) expect((await t.op('keys.list')).status).toBe(200);
    expect((await t.op('no.such.op')).status).toBe(404);
    expect((await fetch(`${t.url}/api/v2/status`, { headers: { authorization: `Bearer ${t.adminKey}` } })).status).toBe(200);
    await settle();
    const { body } = await t.op('monitoring.operations', { scope: 'total' });
    const byName = new Map<string, { count: number; p99Ms: number }>(body.operations.map((s: { name: string }) => [s.name, s]));
    expect(byName.get('op:keys.list')?.count).toBe(3);
    expect(byName.get('http:POST /api/v2/ops/keys.list')?.count).toBe(3);
    expect(byName.get('http:GET /api/v2/status')?.count).toBe(1);
    expect(byName.get('http:POST /api/v2/ops/:name')?.count).toBe(1);
    expect(byName.get('op:keys.list')?.p99Ms).toBeGreaterThan(0);
    expect(body.mostCalled[0].count).toBeGreaterThanOrEqual(3);
    expect(body.recommendations.length).toBeGreaterThan(0);
    expect(body.windowSeconds).toBe(300);
  });

  it("logs calls over an operation's own slow threshold, set by an admin, and counts them for Prometheus", async () => {
    const set = await t.op('monitoring.thresholds.set', { name: 'op:system.config', slowMs: 0.001 });
    expect(set.body).toEqual({ name: 'op:system.config', slowMs: 0.001 });
    await t.op('system.config');
    await t.op('system.config');
    const { body } = await t.op('monitoring.operations', {});
    const slow = body.slowLog.filter((c: { name: string }) => c.name === 'op:system.config');
    expect(slow).toHaveLength(2);
    expect(slow[0]).toMatchObject({ ok: true, thresholdMs: 0.001, code: null });
    expect(body.operations.find((s: { name: string }) => s.name === 'op:system.config')).toMatchObject({
      count: 2,
      slowCalls: 2,
      slowMs: 0.001,
    });
    const metrics = await (await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${t.adminKey}` } })).text();
    expect(metrics).toContain('pilothouse_slow_calls_total{name="op:system.config"} 2');
    expect((await t.op('monitoring.thresholds.set', { name: 'op:system.config', slowMs: null })).body.slowMs).toBe(250);
  });

  it('serves /metrics that passes `promtool check metrics`, with the monitoring metrics in it', async () => {
    await t.plane.running.monitoring.tick();
    const res = await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${t.adminKey}` } });
    expect(res.status).toBe(200);
    const text = await res.text();
    expectPromtoolAccepts(text);
    for (const name of [
      'pilothouse_http_request_duration_seconds_bucket',
      'pilothouse_operations_total',
      'pilothouse_operation_duration_seconds_bucket',
      'pilothouse_dependency_up{dependency="sqlite"} 1',
      'pilothouse_dependency_up{dependency="redis"} 1',
      'pilothouse_alert_firing{alert="redis-down",severity="critical"} 0',
      'pilothouse_disk_free_bytes{disk="data"}',
      'pilothouse_eventloop_utilization_ratio',
      'pilothouse_nodejs_eventloop_lag_seconds',
      'pilothouse_process_cpu_seconds_total',
    ]) {
      expect(text).toContain(name);
    }
  });

  it('keeps samples in history and answers range queries through monitoring.history', async () => {
    const monitoring = t.plane.running.monitoring;
    await monitoring.tick();
    await monitoring.tick();
    const { status, body } = await t.op('monitoring.history', {
      series: ['system.rss_bytes', 'redis.up'],
      from: Date.now() - 60_000,
      stepSeconds: 10,
    });
    expect(status).toBe(200);
    expect(body.resolutionSeconds).toBe(10);
    expect(body.series[0].unit).toBe('bytes');
    expect(body.series[0].points.length).toBeGreaterThan(0);
    expect(body.series[1].points.at(-1).avg).toBe(1);
    const rest = await fetch(`${t.url}/api/v2/monitoring/history?series=system.rss_bytes,redis.up&step=10&from=${Date.now() - 60_000}`, {
      headers: { authorization: `Bearer ${t.adminKey}` },
    });
    expect(rest.status).toBe(200);
    const restBody = (await rest.json()) as { stepSeconds: number; series: { name: string; points: unknown[] }[] };
    expect(restBody.stepSeconds).toBe(10);
    expect(restBody.series.map((s) => [s.name, s.points.length > 0])).toEqual([
      ['system.rss_bytes', true],
      ['redis.up', true],
    ]);
    expect((await fetch(`${t.url}/api/v2/monitoring/history?series=`, { headers: { authorization: `Bearer ${t.adminKey}` } })).status).toBe(
      400,
    );
    const unknown = await t.op('monitoring.history', { series: ['no.such.series'] });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.code).toBe('PH_MONITORING_UNKNOWN_SERIES');
    expect(events.some((e) => e.event === 'monitoring.sample')).toBe(true);
    const series = (await t.op('monitoring.series')).body.series.map((s: { name: string }) => s.name);
    expect(series).toEqual(
      expect.arrayContaining([
        'redis.up',
        'disk.data.used_ratio',
        'http.error_ratio',
        'ws.connections',
        'backup.overdue_seconds',
        'jobs.backlog',
      ]),
    );
  });

  it('lets only an admin edit alert rules, and refuses a rule on a series that does not exist', async () => {
    const viewer = (await t.op('keys.create', { name: 'watcher', role: 'viewer' })).body.secret as string;
    const rules = (await t.op('monitoring.alerts', {}, viewer)).body.rules as { id: string }[];
    const redisDown = rules.find((r) => r.id === 'redis-down');
    expect(redisDown).toBeDefined();
    expect((await t.op('monitoring.alerts.save', { rule: { ...redisDown, forSeconds: 0 } }, viewer)).status).toBe(403);
    const bad = await t.op('monitoring.alerts.save', { rule: { ...redisDown, id: 'typo', metric: 'redis.upp' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('PH_MONITORING_UNKNOWN_SERIES');
    const saved = await t.op('monitoring.alerts.save', { rule: { ...redisDown, forSeconds: 0 } });
    expect(saved.status).toBe(200);
    expect(saved.body.rule.forSeconds).toBe(0);
    const audit = (await t.op('audit.list', { limit: 5 })).body.entries.map((e: { action: string }) => e.action);
    expect(audit).toContain('monitoring.alerts.save');
  });

  it('reports Redis down in /readyz (degraded, still ready), fires the Redis alert on the bus, and resolves it when Redis is back', async () => {
    const monitoring = t.plane.running.monitoring;
    // SHUTDOWN NOSAVE stops the server as an outage would; restart() brings it back on the same port.
    await redis
      .client()
      .call('shutdown', 'nosave')
      .catch(() => undefined);
    await until(() => !t.plane.running.redis?.connected);
    await monitoring.health.checkAll();
    await monitoring.tick();
    const ready = await fetch(`${t.url}/readyz`);
    expect(ready.status).toBe(200);
    const report = (await ready.json()) as { dependencies: { name: string; status: string }[] };
    expect(report.dependencies.find((d) => d.name === 'redis')?.status).toBe('down');
    const overview = (await t.op('monitoring.overview')).body;
    expect(overview.status).toBe('degraded');
    expect(overview.alerts[0]).toMatchObject({ ruleId: 'redis-down', state: 'firing', severity: 'critical' });
    expect(overview.recommendations[0]).toMatch(/^redis is down since/);
    const fired = events.find((e) => e.event === 'monitoring.alert' && e.payload.ruleId === 'redis-down' && e.payload.state === 'firing');
    expect(fired).toBeDefined();
    expect(events.some((e) => e.event === 'monitoring.dependency' && e.payload.name === 'redis' && e.payload.status === 'down')).toBe(true);

    await redis.restart();
    await until(() => t.plane.running.redis?.connected === true, 10_000);
    await monitoring.tick();
    expect(monitoring.alerts.stateOf('redis-down')).toBe('resolved');
    const history = (await t.op('monitoring.alerts.history', { ruleId: 'redis-down' })).body.events.map((e: { state: string }) => e.state);
    expect(history.slice(0, 2)).toEqual(['resolved', 'firing']);
  }, 25_000);

  it('makes /readyz answer 503 when a critical dependency (SQLite writes) is down', async () => {
    const monitoring = t.plane.running.monitoring;
    const off = monitoring.health.register({
      name: 'test-critical',
      critical: true,
      check: () => ({ status: 'down', detail: 'simulated' }),
    });
    try {
      await monitoring.health.checkAll();
      const res = await fetch(`${t.url}/readyz`);
      expect(res.status).toBe(503);
      expect(((await res.json()) as { ready: boolean }).ready).toBe(false);
    } finally {
      off();
    }
    expect((await fetch(`${t.url}/readyz`)).status).toBe(200);
  });
});
