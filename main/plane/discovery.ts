/**
 * The service registry's wiring (registry, health checks, balancer, gateway, LAN discovery), then
 * the fleet-wide tables of alert rules, silences and balancing policies, which read it and monitoring.
 */
import { buildDiscovery, type Discovery } from '../discovery';
import type { EventBus } from '../events';
import { fleetTables } from '../fleet-tables';
import type { Monitoring } from '../monitoring';
import type { AuditLog } from '../security';
import { pilothouseVersion } from '../version';
import type { FleetWiring } from './fleet';
import { redisAddressOf, sentinelAddresses } from './redis-addresses';
import type { Wiring } from './wiring';

export interface DiscoveryLinks {
  readonly bus: EventBus;
  readonly audit: AuditLog;
  readonly fleet: FleetWiring;
  readonly monitoring: Monitoring;
  /** The port the HTTP server listens on (asked once it runs). */
  readonly httpPort: () => number;
  readonly scheme: () => 'http' | 'https';
}

export async function wireDiscovery(w: Wiring, deps: DiscoveryLinks): Promise<Discovery> {
  const { config, nodeId } = w;
  const { redis, seal } = deps.fleet;
  const discovery = buildDiscovery({
    db: w.db,
    clock: w.clock,
    bus: deps.bus,
    audit: deps.audit,
    logger: w.logger.child({ component: 'discovery' }),
    lanAccess: config.lanAccess,
    version: pilothouseVersion,
    httpPort: deps.httpPort,
    redis: redis?.client ?? null,
    allowedTargets: config.discovery?.allowedTargets,
    redisTarget: redisAddressOf(config.redisUrl),
    redisSentinels: sentinelAddresses(config),
    seal,
    ...w.options.discovery,
    redisSync: { nodeId, ...w.options.discovery?.redisSync },
    node: { id: nodeId, scheme: deps.scheme },
  });
  await w.start(discovery.service);
  const tables = fleetTables(deps.fleet.fleetDeps, deps.monitoring, discovery);
  await w.start(tables.alertRules);
  await w.start(tables.alertSilences);
  await w.start(tables.servicePolicies);
  return discovery;
}
