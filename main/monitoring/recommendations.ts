import type { DependencyStatus } from './dependency-health';
import type { OperationStats } from './operation-timings';
import type { SystemSnapshot } from './system-sampler';

/** Below this many calls in the window an error ratio says little; no advice is drawn from it. */
const MIN_CALLS = 20;

const ms = (v: number) => (v >= 100 ? `${Math.round(v)} ms` : `${v.toFixed(1)} ms`);
const pct = (v: number) => `${Math.round(v * 1000) / 10}%`;

/**
 * Plain-language advice from the numbers, most urgent first: what is wrong, how much, and where to
 * look. Each line stands alone, so the console can show the first few.
 */
export function recommend(input: {
  stats: readonly OperationStats[];
  windowSeconds: number;
  system: SystemSnapshot | null;
  dependencies: readonly DependencyStatus[];
}): string[] {
  const out: string[] = [];
  // A dependency that is down comes before one that is merely degraded (often because of it).
  for (const dep of input.dependencies.filter((d) => d.status === 'down')) {
    out.push(
      `${dep.name} is down since ${dep.since.slice(11, 19)} UTC (${dep.detail}).${dep.critical ? ' The node reports not ready until it is back.' : ' The node runs degraded.'}`,
    );
  }
  for (const dep of input.dependencies.filter((d) => d.status === 'degraded')) out.push(`${dep.name} is degraded: ${dep.detail}.`);
  const window = `over the last ${Math.round(input.windowSeconds / 60)} min`;
  const failing = input.stats.filter((s) => s.count >= MIN_CALLS && s.errorRatio >= 0.05).sort((a, b) => b.errorRatio - a.errorRatio);
  for (const s of failing.slice(0, 3)) {
    out.push(`${s.name} fails ${pct(s.errorRatio)} of its calls (${s.errors} of ${s.count}) ${window}; look at its errors in the log.`);
  }
  const slow = input.stats.filter((s) => s.count >= 5 && s.p95Ms > s.slowMs).sort((a, b) => b.p95Ms / b.slowMs - a.p95Ms / a.slowMs);
  for (const s of slow.slice(0, 3)) {
    out.push(`${s.name} is slow: p95 ${ms(s.p95Ms)} against a ${ms(s.slowMs)} threshold ${window} (${s.slowCalls} slow calls logged).`);
  }
  const erratic = input.stats.filter(
    (s) => s.count >= MIN_CALLS && s.p99Ms > 10 * Math.max(s.p50Ms, 0.1) && s.p99Ms > 50 && !slow.includes(s),
  );
  for (const s of erratic.slice(0, 2)) {
    out.push(`${s.name} is usually fast (p50 ${ms(s.p50Ms)}) but its p99 is ${ms(s.p99Ms)}: something it waits on stalls now and then.`);
  }
  const sys = input.system;
  if (sys !== null) {
    if (sys.eventLoopDelayP99Ms > 100) {
      out.push(
        `The event loop lags (p99 delay ${ms(sys.eventLoopDelayP99Ms)}): synchronous work blocks every request; the slowest operations are the first suspects.`,
      );
    }
    if (sys.heapLimitBytes > 0 && sys.heapUsedBytes / sys.heapLimitBytes > 0.85) {
      out.push(
        `The JavaScript heap is at ${pct(sys.heapUsedBytes / sys.heapLimitBytes)} of its limit; a cache or a backlog may be growing without bound.`,
      );
    }
    if (sys.cpuPercent > 90)
      out.push(
        `The process uses ${Math.round(sys.cpuPercent)}% of a core; requests will queue. Spread the load over more nodes or cut work per request.`,
      );
    if (sys.gcPauseMaxMs > 100)
      out.push(`A garbage-collection pause took ${ms(sys.gcPauseMaxMs)}; large short-lived allocations are likely.`);
    for (const disk of sys.disks) {
      if (disk.usedRatio > 0.9)
        out.push(`The disk of ${disk.label} (${disk.path}) is ${pct(disk.usedRatio)} full; prune old backups or move the data directory.`);
    }
  }
  if (out.length === 0) out.push('All is well: every dependency is up and every operation is within its threshold.');
  return out;
}
