import { Counter, Gauge, type Registry } from 'prom-client';
import type { TieredCache } from './tiered-cache';

const STATE_VALUE: Record<string, number> = { 'not-configured': -1, stopped: -1, connecting: 0, down: 0, 'breaker-open': 1, up: 2 };

/**
 * The cache's Prometheus series on the node's registry. Values are read from the cache's own
 * counters when scraped (`collect`), so the hit path pays nothing for them.
 */
export function registerCacheMetrics(registry: Registry, cache: TieredCache): void {
  new Counter({
    name: 'pilothouse_cache_requests_total',
    help: 'Cache reads by namespace and result (l1_hit, l2_hit, l3_hit, stale, miss)',
    labelNames: ['namespace', 'result'],
    registers: [registry],
    collect() {
      this.reset();
      for (const ns of cache.namespaces) {
        const c = ns.stats;
        this.inc({ namespace: ns.name, result: 'l1_hit' }, c.l1Hits);
        this.inc({ namespace: ns.name, result: 'l2_hit' }, c.l2Hits);
        this.inc({ namespace: ns.name, result: 'l3_hit' }, c.l3Hits);
        this.inc({ namespace: ns.name, result: 'stale' }, c.staleServes);
        this.inc({ namespace: ns.name, result: 'miss' }, c.misses);
      }
    },
  });
  new Counter({
    name: 'pilothouse_cache_loader_calls_total',
    help: 'Loader calls by namespace and outcome (ok, error, timeout)',
    labelNames: ['namespace', 'outcome'],
    registers: [registry],
    collect() {
      this.reset();
      for (const ns of cache.namespaces) {
        const c = ns.stats;
        this.inc({ namespace: ns.name, outcome: 'ok' }, Math.max(0, c.loaderCalls - c.loaderErrors - c.loaderTimeouts));
        this.inc({ namespace: ns.name, outcome: 'error' }, c.loaderErrors);
        this.inc({ namespace: ns.name, outcome: 'timeout' }, c.loaderTimeouts);
      }
    },
  });
  new Gauge({
    name: 'pilothouse_cache_latency_seconds',
    help: 'Cache latency percentiles by namespace and tier (l1 sampled, l2, l3, loader), from HDR histograms',
    labelNames: ['namespace', 'tier', 'quantile'],
    registers: [registry],
    collect() {
      this.reset();
      for (const ns of cache.namespaces) {
        for (const tier of ['l1', 'l2', 'l3', 'loader'] as const) {
          const l = ns.stats.latencySummary(tier);
          if (l.count === 0) continue;
          this.set({ namespace: ns.name, tier, quantile: '0.5' }, l.p50 / 1000);
          this.set({ namespace: ns.name, tier, quantile: '0.99' }, l.p99 / 1000);
        }
      }
    },
  });
  new Gauge({
    name: 'pilothouse_cache_l1_entries',
    help: 'Entries held in L1, by namespace',
    labelNames: ['namespace'],
    registers: [registry],
    collect() {
      this.reset();
      for (const ns of cache.namespaces) this.set({ namespace: ns.name }, ns.lru.size);
    },
  });
  new Gauge({
    name: 'pilothouse_cache_l1_bytes',
    help: 'Bytes held in L1 (serialized size), by namespace',
    labelNames: ['namespace'],
    registers: [registry],
    collect() {
      this.reset();
      for (const ns of cache.namespaces) this.set({ namespace: ns.name }, ns.l1Bytes);
    },
  });
  new Gauge({
    name: 'pilothouse_cache_redis_state',
    help: 'Cache view of Redis: 2 up, 1 breaker open, 0 down or connecting, -1 not configured',
    registers: [registry],
    collect() {
      this.set(STATE_VALUE[cache.redisState().state] ?? 0);
    },
  });
  new Counter({
    name: 'pilothouse_cache_breaker_opens_total',
    help: 'Times the Redis circuit breaker opened',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(cache.redisState().breakerOpens);
    },
  });
  new Counter({
    name: 'pilothouse_cache_bus_resyncs_total',
    help: 'Namespaces dropped locally because bus messages were missed (outage, gap, Redis restart)',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(cache.redisState().resyncs);
    },
  });
}

/**
 * The cache's numbers for monitoring's history and alert rules (`monitoring.series.register`):
 * the hit ratio since the previous sample (null when there was no traffic), and stale serves.
 */
export function cacheSeries(cache: TieredCache): { name: string; unit: string; help: string; read: () => number | null }[] {
  let last = { hits: 0, total: 0 };
  return [
    {
      name: 'cache.hit_ratio',
      unit: 'ratio',
      help: 'Share of cache reads answered by a tier (L1, L2 or L3) since the previous sample',
      read: () => {
        let hits = 0;
        let total = 0;
        for (const ns of cache.namespaces) {
          const c = ns.stats;
          hits += c.l1Hits + c.l2Hits + c.l3Hits;
          total += c.l1Hits + c.l2Hits + c.l3Hits + c.misses + c.staleServes;
        }
        const d = { hits: hits - last.hits, total: total - last.total };
        last = { hits, total };
        return d.total <= 0 ? null : d.hits / d.total;
      },
    },
  ];
}
