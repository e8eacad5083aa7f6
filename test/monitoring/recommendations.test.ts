import { describe, expect, it } from 'vitest';
import { recommend, type OperationStats, type SystemSnapshot } from '../../main/monitoring';

const stat = (name: string, over: Partial<OperationStats>): OperationStats => ({
  name,
  count: 100,
  errors: 0,
  errorRatio: 0,
  meanMs: 5,
  p50Ms: 4,
  p95Ms: 8,
  p99Ms: 10,
  stddevMs: 1,
  minMs: 1,
  maxMs: 12,
  slowMs: 250,
  slowCalls: 0,
  ...over,
});

const system = (over: Partial<SystemSnapshot>): SystemSnapshot => ({
  at: '2026-11-24T06:00:00.000Z',
  cpuPercent: 10,
  rssBytes: 1e8,
  heapUsedBytes: 1e7,
  heapTotalBytes: 2e7,
  heapLimitBytes: 4e9,
  externalBytes: 0,
  eventLoopDelayP50Ms: 1,
  eventLoopDelayP99Ms: 5,
  eventLoopDelayMaxMs: 9,
  eventLoopUtilization: 0.1,
  gcPauses: 0,
  gcPauseTotalMs: 0,
  gcPauseMaxMs: 0,
  activeHandles: 5,
  disks: [],
  ...over,
});

describe('recommendations', () => {
  it('says all is well when nothing stands out', () => {
    expect(recommend({ stats: [stat('op:a', {})], windowSeconds: 300, system: system({}), dependencies: [] })).toEqual([
      'All is well: every dependency is up and every operation is within its threshold.',
    ]);
  });

  it('names the down dependency first, then failing and slow operations, then a lagging loop and a full disk', () => {
    const lines = recommend({
      stats: [stat('op:fails', { errors: 30, errorRatio: 0.3 }), stat('op:slow', { p95Ms: 900, slowCalls: 12 }), stat('op:fine', {})],
      windowSeconds: 300,
      system: system({ eventLoopDelayP99Ms: 300, disks: [{ label: 'data', path: '/d', freeBytes: 1, totalBytes: 100, usedRatio: 0.95 }] }),
      dependencies: [
        {
          name: 'redis',
          status: 'down',
          critical: false,
          detail: 'not connected (reconnecting)',
          latencyMs: null,
          since: '2026-11-24T05:58:00.000Z',
          checkedAt: null,
        },
      ],
    });
    expect(lines[0]).toBe('redis is down since 05:58:00 UTC (not connected (reconnecting)). The node runs degraded.');
    expect(lines[1]).toBe('op:fails fails 30% of its calls (30 of 100) over the last 5 min; look at its errors in the log.');
    expect(lines[2]).toBe('op:slow is slow: p95 900 ms against a 250 ms threshold over the last 5 min (12 slow calls logged).');
    expect(lines.some((l) => l.startsWith('The event loop lags (p99 delay 300 ms)'))).toBe(true);
    expect(lines.some((l) => l.startsWith('The disk of data (/d) is 95% full'))).toBe(true);
    expect(lines.some((l) => l.includes('op:fine'))).toBe(false);
  });

  it('puts a dependency that is down before one that is only degraded, whatever order they are listed in', () => {
    const dep = (name: string, status: 'down' | 'degraded') => ({
      name,
      status,
      critical: false,
      detail: 'x',
      latencyMs: null,
      since: '2026-11-24T05:58:00.000Z',
      checkedAt: null,
    });
    const lines = recommend({
      stats: [],
      windowSeconds: 300,
      system: null,
      dependencies: [dep('ratelimit', 'degraded'), dep('redis', 'down')],
    });
    expect(lines[0]).toMatch(/^redis is down since/);
    expect(lines[1]).toBe('ratelimit is degraded: x.');
  });
});
