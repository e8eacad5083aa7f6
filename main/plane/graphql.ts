/** The GraphQL API's wiring, with the fleet-wide tables of its persisted-query allow-list and its switch. */
import { graphqlTables } from '../fleet-tables';
import { GraphqlApi } from '../graphql';
import { callerCharge, type RateLimits, type TierStore } from '../ratelimit';
import type { RealtimeHub } from '../realtime';
import type { Authenticator } from '../security';
import type { FleetWiring } from './fleet';
import type { Wiring } from './wiring';

export interface GraphqlLinks {
  readonly authenticator: Authenticator;
  readonly realtime: RealtimeHub;
  readonly rateLimits: RateLimits;
  readonly tiers: TierStore;
  readonly fleet: FleetWiring;
}

export async function wireGraphql(w: Wiring, deps: GraphqlLinks): Promise<GraphqlApi> {
  const { realtime } = deps;
  const graphql = new GraphqlApi({
    db: w.db,
    clock: w.clock,
    authenticator: deps.authenticator,
    events: (listener) => realtime.subscribeEvents(listener),
    rooms: (caller, room, listener) => realtime.followRoom(caller, room, listener),
    charge: callerCharge(deps.rateLimits, deps.tiers),
    limits: w.config.graphql,
    logger: w.logger.child({ component: 'graphql' }),
    ...(w.config.realtime?.maxConnectionsPerKey === undefined ? {} : { maxConnectionsPerKey: w.config.realtime.maxConnectionsPerKey }),
  });
  for (const table of graphqlTables(deps.fleet.fleetDeps, graphql.persisted)) await w.start(table);
  return graphql;
}
