/**
 * The real-time hub's wiring, with the rate-limit tiers and counters it shares with HTTP (built first:
 * the hub's frames spend the same budgets as requests).
 */
import type { EventBus } from '../events';
import { RateLimits, TierStore, callerBudget } from '../ratelimit';
import { LiveProgress, RealtimeHub, withRoomRules, type HubOptions } from '../realtime';
import type { Authenticator } from '../security';
import type { FleetWiring } from './fleet';
import type { Wiring } from './wiring';

export interface RealtimeWiring {
  readonly tiers: TierStore;
  readonly rateLimits: RateLimits;
  readonly realtime: RealtimeHub;
  readonly progress: LiveProgress;
  /** The hub settings the plane was given (tests shorten them), which maintenance reads too. */
  readonly hubOptions: Partial<HubOptions>;
}

export async function wireRealtime(
  w: Wiring,
  deps: { authenticator: Authenticator; bus: EventBus; fleet: FleetWiring },
): Promise<RealtimeWiring> {
  const { config, db, clock, nodeId } = w;
  const { redis, seal, epoch } = deps.fleet;
  const tiers = new TierStore(db);
  const rateLimits = new RateLimits(redis?.client ?? null, w.durations);
  const { node, ...realtimeOptions } = w.options.realtime ?? {};
  const realtimeConfig = config.realtime ?? {};
  const realtime = new RealtimeHub({
    authenticator: deps.authenticator,
    bus: deps.bus,
    db,
    redis: redis?.client ?? null,
    seal,
    clock,
    logger: w.logger.child({ component: 'realtime' }),
    options: {
      rooms: withRoomRules(realtimeConfig.rooms ?? []),
      ...(realtimeConfig.maxSubscriptions === undefined ? {} : { maxSubscriptions: realtimeConfig.maxSubscriptions }),
      ...(realtimeConfig.maxConnectionsPerKey === undefined ? {} : { maxConnectionsPerKey: realtimeConfig.maxConnectionsPerKey }),
      ...realtimeOptions,
    },
    node: node ?? nodeId,
    budget: callerBudget(rateLimits, tiers),
    probe: redis?.probe ?? null,
  });
  const progress = new LiveProgress(realtime);
  await w.start(realtime);
  // Sockets that stay open through an emptied Redis are told their rooms' epochs are gone.
  epoch?.onEmptied(() => realtime.recheckEpochs());
  return { tiers, rateLimits, realtime, progress, hubOptions: realtimeOptions };
}
