import { statfsSync } from 'node:fs';
import {
  PerformanceObserver,
  monitorEventLoopDelay,
  performance,
  type EventLoopUtilization,
  type IntervalHistogram,
} from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import type { Clock } from '../clock';

export interface DiskUsage {
  label: string;
  path: string;
  freeBytes: number;
  totalBytes: number;
  usedRatio: number;
}

export interface SystemSnapshot {
  at: string;
  cpuPercent: number;
  rssBytes: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  heapLimitBytes: number;
  externalBytes: number;
  eventLoopDelayP50Ms: number;
  eventLoopDelayP99Ms: number;
  eventLoopDelayMaxMs: number;
  eventLoopUtilization: number;
  gcPauses: number;
  gcPauseTotalMs: number;
  gcPauseMaxMs: number;
  activeHandles: number;
  disks: DiskUsage[];
}

/** Free and total bytes of the file system holding `path`, or null when it cannot be read. */
export function diskUsage(label: string, path: string): DiskUsage | null {
  try {
    const fs = statfsSync(path);
    const totalBytes = fs.blocks * fs.bsize;
    // bavail, not bfree: what an unprivileged writer (this process) can still use.
    const freeBytes = fs.bavail * fs.bsize;
    return { label, path, freeBytes, totalBytes, usedRatio: totalBytes === 0 ? 0 : 1 - freeBytes / totalBytes };
  } catch {
    return null;
  }
}

/**
 * The process as the operating system and V8 see it, measured over the interval between two
 * `sample()` calls: CPU, memory, event-loop delay (perf_hooks histogram) and utilization, GC pauses
 * (a `gc` PerformanceObserver), active handles, and free disk where registered paths live.
 */
export class SystemSampler {
  readonly #disks = new Map<string, string>();
  #delay: IntervalHistogram | null = null;
  #gc: PerformanceObserver | null = null;
  #gcPauses: number[] = [];
  #lastCpu = process.cpuUsage();
  #lastAt = 0;
  #lastElu: EventLoopUtilization | null = null;
  #last: SystemSnapshot | null = null;

  constructor(private readonly clock: Clock) {}

  /** Watch the disk holding `path` (the data directory, the backup repository, ...). */
  addDisk(label: string, path: string): void {
    this.#disks.set(label, path);
  }

  start(): void {
    this.#delay = monitorEventLoopDelay({ resolution: 10 });
    this.#delay.enable();
    this.#gc = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) if (this.#gcPauses.length < 10_000) this.#gcPauses.push(entry.duration);
    });
    this.#gc.observe({ entryTypes: ['gc'] });
    this.#lastCpu = process.cpuUsage();
    this.#lastAt = performance.now();
    this.#lastElu = performance.eventLoopUtilization();
  }

  stop(): void {
    this.#delay?.disable();
    this.#delay = null;
    this.#gc?.disconnect();
    this.#gc = null;
  }

  /** Measures the interval since the previous call and starts a new one. */
  sample(): SystemSnapshot {
    const nowPerf = performance.now();
    const elapsedMs = Math.max(1, nowPerf - this.#lastAt);
    const cpu = process.cpuUsage(this.#lastCpu);
    const mem = process.memoryUsage();
    const elu = performance.eventLoopUtilization(this.#lastElu ?? undefined);
    const delay = this.#delay;
    const ns = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? 0 : Math.round(v / 1e3) / 1e3);
    const pauses = this.#gcPauses;
    this.#gcPauses = [];
    const snapshot: SystemSnapshot = {
      at: new Date(this.clock.now()).toISOString(),
      cpuPercent: Math.round(((cpu.user + cpu.system) / 1000 / elapsedMs) * 1000) / 10,
      rssBytes: mem.rss,
      heapUsedBytes: mem.heapUsed,
      heapTotalBytes: mem.heapTotal,
      heapLimitBytes: getHeapStatistics().heap_size_limit,
      externalBytes: mem.external,
      eventLoopDelayP50Ms: delay !== null && delay.count > 0 ? ns(delay.percentile(50)) : 0,
      eventLoopDelayP99Ms: delay !== null && delay.count > 0 ? ns(delay.percentile(99)) : 0,
      eventLoopDelayMaxMs: delay !== null && delay.count > 0 ? ns(delay.max) : 0,
      eventLoopUtilization: Math.round(elu.utilization * 1000) / 1000,
      gcPauses: pauses.length,
      gcPauseTotalMs: Math.round(pauses.reduce((a, b) => a + b, 0) * 1000) / 1000,
      gcPauseMaxMs: Math.round(Math.max(0, ...pauses) * 1000) / 1000,
      activeHandles: process.getActiveResourcesInfo().length,
      disks: [...this.#disks].map(([label, path]) => diskUsage(label, path)).filter((d): d is DiskUsage => d !== null),
    };
    delay?.reset();
    this.#lastCpu = process.cpuUsage();
    this.#lastAt = nowPerf;
    this.#lastElu = performance.eventLoopUtilization();
    this.#last = snapshot;
    return snapshot;
  }

  get last(): SystemSnapshot | null {
    return this.#last;
  }
}
