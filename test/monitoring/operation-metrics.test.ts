import { describe, expect, it } from 'vitest';
import { expectPromtoolAccepts, sample } from './exposition';
import { monitoringPerTest } from './monitoring-fixture';

describe('operation counts and durations in Prometheus, bound once per operation', () => {
  const m = monitoringPerTest('ph-mon-ops-');

  it('counts each operation by outcome and renders its duration buckets, sum and count, passing promtool', async () => {
    m.monitoring.observeOperation({ name: 'cache.get', durationMs: 0.2, ok: true });
    m.monitoring.observeOperation({ name: 'cache.get', durationMs: 3, ok: true });
    m.monitoring.observeOperation({ name: 'cache.get', durationMs: 40, ok: false, code: 'PH_CACHE_MISS' });
    m.monitoring.observeOperation({ name: 'keys.list', durationMs: 1, ok: true });
    const text = await m.metrics.render();
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
    expectPromtoolAccepts(text);
  });

  it('keeps counting into the bound children after the registry is reset', async () => {
    m.monitoring.observeOperation({ name: 'cache.get', durationMs: 1, ok: true });
    m.metrics.registry.resetMetrics();
    m.monitoring.observeOperation({ name: 'cache.get', durationMs: 1, ok: true });
    const text = await m.metrics.render();
    expect(sample(text, 'pilothouse_operations_total{operation="cache.get",outcome="ok"}')).toBe(1);
    expect(sample(text, 'pilothouse_operation_duration_seconds_count{operation="cache.get"}')).toBe(1);
  });
});
