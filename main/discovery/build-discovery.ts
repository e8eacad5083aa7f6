import type { Database } from 'better-sqlite3';
import type { Redis } from 'ioredis';
import type { Clock } from '../clock';
import { EventBus } from '../events';
import type { FleetSeal } from '../fleet';
import type { Logger } from '../logger';
import type { AuditLog } from '../security';
import { summarizedEvent } from './check-output';
import { CheckRunners } from './check-runners';
import { lanDefaults, type LanDiscoveryOptions } from './defaults';
import { DiscoveryService } from './discovery-service';
import { gatewayPlugin, type GatewayOptions } from './gateway';
import { GatewayStats } from './gateway-stats';
import { HealthChecker, type HealthCheckerOptions } from './health-checker';
import { LanDiscovery } from './lan-discovery';
import { LoadBalancer } from './load-balancer';
import { discoveryHandlers } from './operations';
import { RedisSync, type RedisSyncOptions } from './redis-sync';
import { ServiceRegistry } from './registry';
import { defaultAllowedTargets, TargetPolicy } from './target-policy';

export interface DiscoveryDeps {
  readonly db: Database;
  readonly clock: Clock;
  readonly bus: EventBus;
  readonly audit: AuditLog;
  readonly logger: Logger;
  /** LAN access on: mDNS announces and browses. Off: it never binds the mDNS port. */
  readonly lanAccess: boolean;
  readonly version: string;
  /** The embedded server's port, read once it listens (for the mDNS announcement). */
  readonly httpPort: () => number;
  readonly lan?: Partial<LanDiscoveryOptions>;
  /** This node's id and scheme, announced on the LAN beside its port. */
  readonly node?: { readonly id: string; readonly scheme: () => 'http' | 'https' };
  readonly checker?: HealthCheckerOptions;
  readonly gateway?: GatewayOptions;
  /** With a Redis client, the registry is shared with every node on that Redis and each check runs on one node. */
  readonly redis?: Redis | null;
  /** Signs and checks every message the registry shares through Redis; required with `redis`. */
  readonly seal?: FleetSeal | null;
  readonly redisSync?: RedisSyncOptions;
  /** `discovery.allowedTargets` (default: loopback and the private LAN ranges). */
  readonly allowedTargets?: readonly string[];
  /** The node's Redis address, which checks and the gateway never reach. */
  readonly redisTarget?: { host: string; port: number } | null;
  /** The Redis Sentinels, also never targets. */
  readonly redisSentinels?: readonly { host: string; port: number }[];
}

/**
 * Builds the discovery capability's parts from what the composition root has. Nothing starts
 * here: `service` (registry + checks) starts before the HTTP server, `lan` after it (it announces
 * the server's port), and `gateway` is registered on the server's fastify instance before it starts.
 */
export function buildDiscovery(deps: DiscoveryDeps) {
  // The registry's events reach viewers too: they go out with check summaries only (see check-output).
  const registryBus = new EventBus((err) => deps.logger.error({ err }, 'event listener failed'));
  registryBus.subscribe((message) => {
    const summarized = summarizedEvent(message);
    deps.bus.publish(summarized.event, summarized.payload as never);
  });
  const registry = new ServiceRegistry(deps.db, deps.clock, registryBus, deps.audit);
  const targets = new TargetPolicy({
    allowed: deps.allowedTargets ?? defaultAllowedTargets,
    ownHttpPort: () => {
      try {
        return deps.httpPort();
      } catch {
        return null;
      }
    },
    redis: deps.redisTarget ?? null,
    sentinels: deps.redisSentinels ?? [],
    // With Sentinels the master is whichever one they name: the address the client is connected to now.
    redisConnected: () => {
      const stream = deps.redis?.stream;
      return stream?.remoteAddress === undefined || stream.remotePort === undefined
        ? null
        : { host: stream.remoteAddress, port: stream.remotePort };
    },
  });
  const runners = new CheckRunners(targets);
  const sync =
    deps.redis === undefined || deps.redis === null
      ? null
      : new RedisSync(registry, deps.redis, sealFor(deps), deps.logger.child({ component: 'discovery-redis' }), deps.redisSync);
  const checker = new HealthChecker(registry, runners, deps.clock, deps.logger.child({ component: 'health-checks' }), {
    ...deps.checker,
    ...(sync === null ? {} : { owns: (id: string) => sync.owns(id) }),
  });
  const balancer = new LoadBalancer(registry, deps.clock);
  const stats = new GatewayStats();
  const lan = new LanDiscovery({
    enabled: deps.lanAccess,
    version: deps.version,
    port: deps.httpPort,
    options: { ...lanDefaults, ...deps.lan },
    ...(deps.node === undefined ? {} : { node: deps.node }),
    clock: deps.clock,
    logger: deps.logger.child({ component: 'mdns' }),
  });
  balancer.onEjection((name, ejection) =>
    deps.logger.warn(
      { service: name, instance: ejection.id, until: new Date(ejection.until).toISOString(), ejections: ejection.ejections },
      'outlier ejected',
    ),
  );
  return {
    registry,
    checker,
    balancer,
    stats,
    lan,
    sync,
    service: new DiscoveryService(registry, checker, runners, sync),
    /** Numbers for monitoring's history and alert rules (`monitoring.series.register`). */
    series: () =>
      (['passing', 'warning', 'critical', 'maintenance'] as const).map((state) => ({
        name: `discovery.instances_${state}`,
        unit: 'count',
        help: `Registered service instances whose health is ${state}`,
        read: () => registry.counts()[state],
      })),
    targets,
    handlers: discoveryHandlers({ registry, balancer, stats, lan, targets }),
    gateway: gatewayPlugin({
      registry,
      balancer,
      stats,
      targets,
      logger: deps.logger.child({ component: 'gateway' }),
      ...(deps.gateway === undefined ? {} : { options: deps.gateway }),
    }),
  };
}

function sealFor(deps: DiscoveryDeps): FleetSeal {
  if (deps.seal === undefined || deps.seal === null) throw new Error('Sharing the registry through Redis needs the fleet seal');
  return deps.seal;
}

export type Discovery = ReturnType<typeof buildDiscovery>;
