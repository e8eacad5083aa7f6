import type { Database } from 'better-sqlite3';
import type { Redis } from 'ioredis';
import type { HealthProbe } from './dependency-health';
import { diskUsage } from './system-sampler';

/** Writes one row in its own transaction: proves the database accepts writes, not only reads. */
export function sqliteProbe(db: Database, now: () => number): HealthProbe {
  const write = db.prepare('INSERT INTO monitoring_probe (id, at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at = excluded.at');
  return {
    name: 'sqlite',
    critical: true,
    check: () => {
      const started = performance.now();
      write.run(now());
      const latencyMs = Math.round((performance.now() - started) * 1000) / 1000;
      return { status: 'up', detail: `write probe took ${latencyMs} ms`, latencyMs };
    },
  };
}

/**
 * Redis is optional: down makes the node degraded, not unready. A client that is not connected is
 * reported at once (a PING would only wait in ioredis' offline queue).
 */
export function redisProbe(client: Redis, slowMs = 100): HealthProbe {
  return {
    name: 'redis',
    critical: false,
    timeoutMs: 1_000,
    check: async () => {
      if (client.status !== 'ready') return { status: 'down', detail: `not connected (${client.status})` };
      const started = performance.now();
      await client.ping();
      const latencyMs = Math.round((performance.now() - started) * 1000) / 1000;
      return latencyMs > slowMs
        ? { status: 'degraded', detail: `PING took ${latencyMs} ms`, latencyMs }
        : { status: 'up', detail: `PING ${latencyMs} ms`, latencyMs };
    },
  };
}

export interface DiskProbeOptions {
  /** Degraded above this used share. Default 0.9. */
  readonly degradedAbove?: number;
  /** Down (and, for the data directory, not ready) above this used share. Default 0.98. */
  readonly downAbove?: number;
  readonly critical?: boolean;
}

export function diskProbe(label: string, path: string, options: DiskProbeOptions = {}): HealthProbe {
  const degradedAbove = options.degradedAbove ?? 0.9;
  const downAbove = options.downAbove ?? 0.98;
  return {
    name: `disk:${label}`,
    critical: options.critical ?? false,
    check: () => {
      const usage = diskUsage(label, path);
      if (usage === null) return { status: 'down', detail: `cannot read the file system of ${path}` };
      const free = `${formatBytes(usage.freeBytes)} free of ${formatBytes(usage.totalBytes)} (${Math.round(usage.usedRatio * 100)}% used) at ${path}`;
      if (usage.usedRatio > downAbove) return { status: 'down', detail: free };
      if (usage.usedRatio > degradedAbove) return { status: 'degraded', detail: free };
      return { status: 'up', detail: free };
    },
  };
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value >= 10 || unit === 0 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}
