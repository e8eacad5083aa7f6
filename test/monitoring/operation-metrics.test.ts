import { spawnSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventBus } from '../../main/events';
import { createLogger } from '../../main/logger';
import { Metrics, Monitoring } from '../../main/monitoring';
import { tempDir } from '../helpers/temp-dir';
import { sample } from './exposition';
import { fakeClock } from './fake-clock';
import { monitoringDb } from './store';

describe('operation counts and durations in Prometheus, bound once per operation', () => {
  let store: ReturnType<typeof monitoringDb>;
  let dir: ReturnType<typeof tempDir>;
  let metrics: Metrics;
  let monitoring: Monitoring;

  beforeEach(() => {
    store = monitoringDb();
    dir = tempDir('ph-mon-ops-');
    metrics = new Metrics();
    monitoring = new Monitoring({
      db: store.db,
      redis: null,
      bus: new EventBus(),
      clock: fakeClock(),
      logger: createLogger('silent'),
      metrics,
      dataDir: dir.path,
    });
  });
  afterEach(async () => {
    await monitoring.stop();
    store.close();
    dir.remove();
  });

  it('counts each operation by outcome and renders its duration buckets, sum and count, passing promtool', async () => {
    monitoring.observeOperation({ name: 'cache.get', durationMs: 0.2, ok: true });
    monitoring.observeOperation({ name: 'cache.get', durationMs: 3, ok: true });
    monitoring.observeOperation({ name: 'cache.get', durationMs: 40, ok: false, code: 'PH_CACHE_MISS' });
    monitoring.observeOperation({ name: 'keys.list', durationMs: 1, ok: true });
    const text = await metrics.render();
    expect(sample(text, 'pilothouse_operations_total{operation="cache.get",outcome="ok"}')).toBe(2);
    expect(sample(text, 'pilothouse_operations_total{operation="cache.get",outcome="error"}')).toBe(1);
    expect(sample(text, 'pilothouse_operations_total{operation="keys.list",outcome="ok"}')).toBe(1);
    // An outcome that never happened has no series, as with prom-client's labelled counter.
    expect(sample(text, 'pilothouse_operations_total{operation="keys.list",outcome="error"}')).toBeUndefined();
    const bucket = (le: string) => sample(text, `pilothouse_operation_duration_seconds_bucket{le="${le}",operation="cache.get"}`);
    expect(bucket('0.0005')).toBe(1);
    expect(bucket('0.005')).toBe(2);
    expect(bucket('0.05')).toBe(3);
    expect(bucket('+Inf')).toBe(3);
    expect(sample(text, 'pilothouse_operation_duration_seconds_sum{operation="cache.get"}')).toBeCloseTo(0.0432, 6);
    expect(sample(text, 'pilothouse_operation_duration_seconds_count{operation="keys.list"}')).toBe(1);
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(`${check.stdout}${check.stderr}`.trim()).toBe('');
    expect(check.status).toBe(0);
  });

  it('keeps counting into the bound children after the registry is reset', async () => {
    monitoring.observeOperation({ name: 'cache.get', durationMs: 1, ok: true });
    metrics.registry.resetMetrics();
    monitoring.observeOperation({ name: 'cache.get', durationMs: 1, ok: true });
    const text = await metrics.render();
    expect(sample(text, 'pilothouse_operations_total{operation="cache.get",outcome="ok"}')).toBe(1);
    expect(sample(text, 'pilothouse_operation_duration_seconds_count{operation="cache.get"}')).toBe(1);
  });
});
