/** The tiered cache's wiring: memory, Redis when there is one, then SQLite, with its Prometheus metrics. */
import { TieredCache, registerCacheMetrics } from '../cache';
import type { EventBus } from '../events';
import type { Metrics } from '../monitoring';
import type { FleetWiring } from './fleet';
import type { Wiring } from './wiring';

export async function wireCache(w: Wiring, deps: { bus: EventBus; metrics: Metrics; fleet: FleetWiring }): Promise<TieredCache> {
  const { redis, seal } = deps.fleet;
  const cache = new TieredCache({
    db: w.db,
    redis: redis?.client ?? null,
    seal,
    clock: w.clock,
    logger: w.logger.child({ component: 'cache' }),
    events: deps.bus,
    options: { nodeId: w.nodeId },
  });
  registerCacheMetrics(deps.metrics.registry, cache);
  await w.start(cache);
  return cache;
}
