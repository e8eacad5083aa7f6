import type { Database } from 'better-sqlite3';
import type { GraphQLSchema } from 'graphql';
import type { Clock } from '../clock';
import type { Caller } from '../core';
import type { Logger } from '../logger';
import type { OperationDispatcher } from '../ops';
import type { Authenticator } from '../security';
import type { Charge, EventSource, GraphqlContext, RoomSource } from './context';
import { graphqlHttp } from './graphql-http';
import { GraphqlSockets } from './graphql-ws';
import { defaultLimits, type GraphqlLimits } from './limits';
import { Loaders } from './loaders';
import { graphqlHandlers } from './operations';
import { PersistedQueries } from './persisted';
import { buildContractSchema } from './schema';

export interface GraphqlApiDeps {
  readonly db: Database;
  readonly clock: Clock;
  readonly authenticator: Authenticator;
  /** The console's event stream (the hub's, so other nodes' cluster events come too). */
  readonly events: EventSource;
  /** Room messages, as the hub's clients get them (the hub's `followRoom`). */
  readonly rooms: RoomSource;
  readonly limits?: Partial<GraphqlLimits>;
  /** Charges a costly query's weight to the caller's rate limit (the HTTP limiter's budget). */
  readonly charge: Charge;
  readonly logger: Logger;
  /** Subscription sockets one viewer or operator key may hold (the hub's `realtime.maxConnectionsPerKey`). */
  readonly maxConnectionsPerKey?: number;
}

/**
 * GraphQL, a door onto the contract's operations: the schema generated from the contract, the
 * persisted-query allow-list and its operations, and, once the dispatcher exists, the HTTP plugin
 * (`/graphql` on the node's Fastify) and the subscription sockets (`/graphql` upgrades).
 */
export class GraphqlApi {
  readonly schema: GraphQLSchema;
  readonly persisted: PersistedQueries;
  readonly limits: GraphqlLimits;
  readonly handlers;

  constructor(private readonly deps: GraphqlApiDeps) {
    this.schema = buildContractSchema();
    this.persisted = new PersistedQueries(deps.db, deps.clock);
    this.limits = { ...defaultLimits, ...deps.limits };
    this.handlers = graphqlHandlers(this.persisted, this.schema);
  }

  /** The transports, calling every operation through `dispatcher` as the request's caller. */
  transports(dispatcher: OperationDispatcher) {
    const { events, rooms, logger, authenticator } = this.deps;
    const contextFor = (caller: Caller): GraphqlContext => {
      const call = (operation: string, input: unknown) => dispatcher.call(operation, input, caller);
      return { caller, call, loaders: new Loaders(call), events, rooms };
    };
    const common = { schema: this.schema, limits: this.limits, persisted: this.persisted, logger, contextFor, charge: this.deps.charge };
    const cap = this.deps.maxConnectionsPerKey === undefined ? {} : { maxConnectionsPerKey: this.deps.maxConnectionsPerKey };
    return { http: graphqlHttp(common), sockets: new GraphqlSockets({ ...common, authenticator, events, ...cap }) };
  }
}
