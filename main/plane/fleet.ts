/**
 * The fleet's wiring: the Redis connection and the claim that this node's fleet secret is the running
 * fleet's (before anything is keyed by it), the seal on what the node writes there, the watches on
 * Redis's epoch and on this node's clock; and what the node tells the fleet once it has put back what
 * an emptied Redis lost.
 */
import type { RedisOptions } from 'ioredis';
import type { BackupService, CatalogueShare } from '../backup';
import type { Discovery } from '../discovery';
import type { EventBus } from '../events';
import { ClockSkewWatch, FleetSeal, FleetSecretClaim, RedisEpoch, type FleetTableDeps } from '../fleet';
import { PhError } from '../../contract';
import { RedisConnection } from '../redis';
import type { Metrics } from '../monitoring';
import type { Wiring } from './wiring';

/** Redis, and the proof that this node may act in the fleet on it. */
export interface FleetLink {
  readonly redis: RedisConnection | null;
  /** Null without Redis. */
  readonly claim: FleetSecretClaim | null;
}

export interface FleetWiring {
  readonly redis: RedisConnection | null;
  readonly claim: FleetSecretClaim | null;
  readonly clockSkew: ClockSkewWatch | null;
  /** Signs and opens what nodes exchange through Redis; null without Redis. */
  readonly seal: FleetSeal | null;
  readonly epoch: RedisEpoch | null;
  /** What every fleet-wide table is built with. */
  readonly fleetDeps: FleetTableDeps;
}

/**
 * Connects to Redis (`target`; null leaves the node on its own) and claims the fleet for this node's
 * secret: a node whose secret is not the running fleet's is refused (PH_FLEET_SECRET_MISMATCH) here,
 * before it writes an audit row keyed by that secret or starts a worker.
 */
export async function linkFleet(w: Wiring, target: RedisOptions | null): Promise<FleetLink> {
  const { config, nodeId, logger } = w;
  if (target === null) return { redis: null, claim: null };
  if (config.fleetSecret === undefined) {
    throw new PhError('PH_CONFIG_INVALID', 'Setting "fleetSecret" is required with Redis', { field: 'fleetSecret' });
  }
  const redis = new RedisConnection(target, logger.child({ component: 'redis' }));
  await w.start(redis);
  const claim = new FleetSecretClaim(
    redis.client,
    config.fleetSecret,
    nodeId,
    logger.child({ component: 'fleet' }),
    w.options.fleet?.secretClaim,
  );
  await w.start(claim);
  return { redis, claim };
}

/** The rest of the fleet's wiring, once security has made the bus and metrics. */
export async function wireFleet(w: Wiring, link: FleetLink, bus: EventBus, metrics: Metrics): Promise<FleetWiring> {
  const { config, clock, nodeId, logger } = w;
  const { redis, claim } = link;
  const seal =
    redis === null || config.fleetSecret === undefined
      ? null
      : new FleetSeal({
          secret: config.fleetSecret,
          nodeId,
          clock,
          registry: metrics.registry,
          logger: logger.child({ component: 'fleet' }),
        });
  const clockSkew =
    redis === null
      ? null
      : new ClockSkewWatch(redis.client, clock, logger.child({ component: 'fleet' }), metrics.registry, w.options.fleet?.clockSkew);
  if (clockSkew !== null) await w.start(clockSkew);
  const epoch =
    redis === null
      ? null
      : new RedisEpoch(redis.client, config.dataDir, clock, logger.child({ component: 'fleet' }), {
          ...w.options.fleet?.epoch,
          requireDurable: config.requireDurableRedis ?? false,
        });
  if (epoch !== null) {
    await w.start(epoch);
    const durability = epoch.durability;
    if (durability !== null && durability.durable !== true)
      bus.publish('fleet.redis', {
        kind: 'not-durable',
        code: 'PH_REDIS_NOT_DURABLE',
        message: durability.detail,
        node: nodeId,
        at: new Date(clock.now()).toISOString(),
      });
  }
  const fleetDeps = {
    db: w.db,
    clock,
    nodeId,
    redis: redis?.client ?? null,
    seal,
    logger,
    epoch,
    checkIntervalMs: w.options.fleet?.checkIntervalMs,
  };
  return { redis, claim, clockSkew, seal, epoch, fleetDeps };
}

/**
 * When Redis comes back empty: re-publishes what only this node held there and says so. Registered
 * last, so the queue has re-enqueued its jobs before this says the node recovered.
 */
export function announceRecovery(
  epoch: RedisEpoch | null,
  deps: { bus: EventBus; nodeId: string; discovery: Discovery; backup: BackupService; catalogueShare: CatalogueShare | null },
): void {
  const { bus, nodeId, discovery, backup, catalogueShare } = deps;
  epoch?.onEmptied(async (e) => {
    const instances = (await discovery.sync?.republish()) ?? 0;
    if (catalogueShare !== null) await catalogueShare.publish();
    backup.syncSchedules(); // the repeating snapshot jobs were in the Redis that emptied
    bus.publish('fleet.redis', {
      kind: 'emptied',
      code: null,
      message: `Redis came back empty (epoch ${e.previousEpoch} → ${e.epoch}); this node re-published ${instances} registry instances, its backup catalogue and schedules, alert rules, balancing policies, batch reports, job results and the sagas it took part in, and re-enqueued the jobs it had queued`,
      node: nodeId,
      at: new Date(e.at).toISOString(),
    });
  });
}
