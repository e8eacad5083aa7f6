/**
 * Monitoring's wiring: the service (built early, started just before HTTP) and the health checks and
 * series the other capabilities add to it once they exist.
 */
import type { BackupService } from '../backup';
import { cacheSeries, type TieredCache } from '../cache';
import type { Discovery } from '../discovery';
import type { EventBus } from '../events';
import { Monitoring, type Metrics, type MetricSeries } from '../monitoring';
import type { JobQueue } from '../batch';
import type { RateLimits } from '../ratelimit';
import type { RealtimeHub } from '../realtime';
import type { RedisConnection } from '../redis';
import type { WebhookService } from '../webhooks';
import type { FleetWiring } from './fleet';
import type { Wiring } from './wiring';

export function buildMonitoring(w: Wiring, deps: { redis: RedisConnection | null; bus: EventBus; metrics: Metrics }): Monitoring {
  return new Monitoring({
    db: w.db,
    redis: deps.redis?.client ?? null,
    bus: deps.bus,
    clock: w.clock,
    logger: w.logger.child({ component: 'monitoring' }),
    metrics: deps.metrics,
    dataDir: w.config.dataDir,
    options: { retention: { hourMs: w.kept.metricHourMs }, usageRetentionMs: w.kept.usageMs, ...w.options.monitoring },
  });
}

/** The health checks and series of the capabilities built after monitoring, in the order they are listed. */
export function registerPlaneHealth(
  monitoring: Monitoring,
  deps: {
    rateLimits: RateLimits;
    webhooks: WebhookService;
    backup: BackupService;
    realtime: RealtimeHub;
    cache: TieredCache;
    discovery: Discovery;
    jobs: Pick<JobQueue, 'stats'>;
    fleet: Pick<FleetWiring, 'clockSkew' | 'claim'>;
  },
): void {
  const { rateLimits, webhooks, backup, realtime, cache, discovery, jobs, fleet } = deps;
  // In the Health view beside Redis: a node can reach Redis and still not be heard by the fleet.
  for (const service of [fleet.clockSkew, fleet.claim]) {
    if (service === null) continue;
    monitoring.health.register({
      name: service.name,
      critical: false,
      check: () => {
        const { state, detail = '' } = service.status();
        return { status: state === 'degraded' ? 'degraded' : 'up', detail };
      },
    });
  }
  monitoring.health.register({
    name: 'ratelimit',
    critical: false,
    check: () => {
      const backend = rateLimits.backend();
      return backend === 'memory (Redis unreachable)'
        ? { status: 'degraded', detail: 'Redis is unreachable: each node counts on its own until it is back' }
        : { status: 'up', detail: `counting in ${backend}` };
    },
  });
  monitoring.series.register({
    name: 'webhooks.endpoints.disabled',
    unit: 'count',
    help: 'Webhook endpoints turned off (a 410, or failing for the whole retry window)',
    read: () => webhooks.endpoints.countDisabled(),
  });
  monitoring.series.register({
    name: 'backup.replica_lag_snapshots',
    unit: 'count',
    help: 'Snapshots the most lagging replica of the backup repository lacks (none without replicas)',
    read: () => backup.replicas.maxLag()?.snapshots ?? null,
  });
  monitoring.series.register({
    name: 'backup.replica_lag_bytes',
    unit: 'bytes',
    help: 'Bytes the most lagging replica of the backup repository lacks',
    read: () => backup.replicas.maxLag()?.bytes ?? null,
  });
  monitoring.series.register({
    name: 'backup.overdue_seconds',
    unit: 's',
    help: 'How long the most overdue scheduled source has gone past its schedule without a good snapshot (15 min grace for the run)',
    read: () => backup.overdueSeconds(),
  });
  monitoring.series.register(
    polledSeries({
      name: 'jobs.backlog',
      unit: 'count',
      help: 'Jobs waiting for a worker: due, not yet taken (the queue counted at the previous sample)',
      poll: async () => (await jobs.stats()).reduce((n, q) => n + q.counts.waiting, 0),
    }),
  );
  monitoring.series.register({
    name: 'ws.connections',
    unit: 'count',
    help: 'Real-time hub connections (console and LAN programs)',
    read: () => realtime.connectionCount,
  });
  for (const series of cacheSeries(cache)) monitoring.series.register(series);
  for (const series of discovery.series()) monitoring.series.register(series);
}

/**
 * A series whose number must be awaited (the job queue counts in SQLite or Redis): each sample
 * returns what the previous one asked for and asks again, so a sample never waits and never
 * piles up asks behind a slow store.
 */
function polledSeries(s: { name: string; unit: string; help: string; poll: () => Promise<number> }): MetricSeries {
  let last: number | null = null;
  let asking = false;
  return {
    name: s.name,
    unit: s.unit,
    help: s.help,
    read: () => {
      if (!asking) {
        asking = true;
        s.poll()
          .then(
            (value) => {
              last = value;
            },
            () => {
              last = null;
            },
          )
          .finally(() => {
            asking = false;
          });
      }
      return last;
    },
  };
}
