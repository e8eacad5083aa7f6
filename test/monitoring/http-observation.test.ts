import { describe, expect, it } from 'vitest';
import { expectPromtoolAccepts, sample } from './exposition';
import { monitoringPerTest } from './monitoring-fixture';

const request = (durationMs: number, statusCode = 200, route = '/api/v2/things') => ({
  method: 'GET',
  route,
  statusCode,
  durationMs,
  keyId: null,
  tier: null,
  bytesIn: 0,
  bytesOut: 0,
});

describe('one per-request HTTP measurement feeding Prometheus and the history series', () => {
  const m = monitoringPerTest('ph-mon-http-');

  it('renders cumulative buckets, sum and count per method, route and status code, and passes promtool', async () => {
    m.monitoring.observeHttp(request(0.2));
    m.monitoring.observeHttp(request(3));
    m.monitoring.observeHttp(request(40));
    m.monitoring.observeHttp(request(7, 503));
    const text = await m.metrics.render();
    const labels = 'method="GET",route="/api/v2/things",status_code="200"';
    const bucket = (le: string) => sample(text, `pilothouse_http_request_duration_seconds_bucket{${labels},le="${le}"}`);
    expect(bucket('0.0005')).toBe(1);
    expect(bucket('0.0025')).toBe(1);
    expect(bucket('0.005')).toBe(2);
    expect(bucket('0.05')).toBe(3);
    expect(bucket('+Inf')).toBe(3);
    expect(sample(text, `pilothouse_http_request_duration_seconds_count{${labels}}`)).toBe(3);
    expect(sample(text, `pilothouse_http_request_duration_seconds_sum{${labels}}`)).toBeCloseTo(0.0432, 6);
    expect(sample(text, 'pilothouse_http_request_duration_seconds_count{method="GET",route="/api/v2/things",status_code="503"}')).toBe(1);
    expectPromtoolAccepts(text);
  });

  it('keeps counting into the bound children after the registry is reset', async () => {
    m.monitoring.observeHttp(request(1));
    m.metrics.registry.resetMetrics();
    m.monitoring.observeHttp(request(1));
    const text = await m.metrics.render();
    expect(sample(text, 'pilothouse_http_request_duration_seconds_count{method="GET",route="/api/v2/things",status_code="200"}')).toBe(1);
  });

  it("takes each tick's latency percentiles from the route timings recorded since the previous tick only", async () => {
    for (let i = 0; i < 100; i += 1) m.monitoring.observeHttp(request(100, 200, '/slow'));
    m.clock.advance(10_000);
    const first = await m.monitoring.tick();
    expect(first.values['http.latency_p50_ms']).toBeCloseTo(100, 0);
    for (let i = 0; i < 100; i += 1) m.monitoring.observeHttp(request(2));
    m.clock.advance(10_000);
    const second = await m.monitoring.tick();
    expect(second.values['http.latency_p50_ms']).toBeCloseTo(2, 1);
    expect(second.values['http.latency_p95_ms']).toBeCloseTo(2, 1);
    expect(second.values['http.requests_per_second']).toBeCloseTo(10, 5);
    m.clock.advance(10_000);
    const idle = await m.monitoring.tick();
    expect(idle.values['http.latency_p50_ms']).toBeNull();
    // The route timings themselves still hold every request.
    expect(m.monitoring.timings.statsOf('http:GET /api/v2/things', 'total')?.count).toBe(100);
  });
});
