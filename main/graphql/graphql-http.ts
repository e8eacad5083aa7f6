import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { DocumentNode, GraphQLError, GraphQLSchema } from 'graphql';
import mercurius from 'mercurius';
import { PhError } from '../../contract/errors';
import type { Caller } from '../core';
import type { Logger } from '../logger';
import { remainingHeader } from '../ratelimit';
import type { Charge, GraphqlContext } from './context';
import { formatError, requestError } from './errors';
import type { GraphqlLimits } from './limits';
import { cachedJudge } from './limits';
import type { PersistedQueries } from './persisted';

export const GRAPHQL_PATH = '/graphql';
/** A query counts as one request against the caller's rate limit per this much cost (so most count once). */
export const COST_PER_REQUEST = 1000;
/** Where a browser asking for HTML is sent: the console's GraphQL view (it signs in first). */
export const EXPLORER_URL = '/#/graphql';

export interface GraphqlHttpDeps {
  readonly schema: GraphQLSchema;
  readonly limits: GraphqlLimits;
  readonly persisted: PersistedQueries;
  readonly logger: Logger;
  readonly contextFor: (caller: Caller) => GraphqlContext;
  /** Counts `points` more requests against the caller's rate-limit tier. */
  readonly charge: Charge;
}

/** A refusal of the whole request, in the GraphQL shape with the catalogue's code and status. */
function refuse(reply: FastifyReply, error: PhError): FastifyReply {
  return reply.code(error.status).send(requestError(error));
}

/** Mercurius's own refusals (a document the schema refuses, a mutation over GET, no query) as catalogue errors. */
function requestFailure(error: FastifyError & { errors?: GraphQLError[] }, logger: Logger): { status: number; body: unknown } {
  if (error instanceof PhError) return { status: error.status, body: requestError(error) };
  if (error.statusCode === 405)
    return { status: 405, body: requestError(new PhError('PH_METHOD_NOT_ALLOWED', 'Mutations are sent with POST, not GET')) };
  if (Array.isArray(error.errors) && error.errors.length > 0)
    return { status: 400, body: { errors: error.errors.map((e) => formatError(e, logger)) } };
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500)
    return { status: 400, body: requestError(new PhError('PH_GRAPHQL_INVALID', 'Send a GraphQL query (query, variables, operationName)')) };
  logger.error({ err: error }, 'graphql: the request failed');
  return { status: 500, body: requestError(new PhError('PH_INTERNAL')) };
}

/**
 * GraphQL over HTTP at `/graphql` (GET for queries, POST for everything), served by mercurius on
 * the node's Fastify. Authentication is the server's own (`onRequest` names `request.caller` from
 * the key or session token; the route needs viewer), as is the rate limit. Before a document runs:
 * the persisted-query allow-list, then the limits (introspection, depth, aliases, list size, cost),
 * each refusal a coded 4xx. A browser that opens the page is sent to the console's explorer.
 */
export function graphqlHttp(deps: GraphqlHttpDeps) {
  return async function registerGraphql(app: FastifyInstance): Promise<void> {
    app.addHook('onRoute', (route) => {
      route.config = { ...route.config, access: 'viewer' };
    });
    // A persisted query may come as its hash alone (`extensions.persistedQuery.sha256Hash`); the allow-list holds its text.
    app.addHook('preHandler', async (request, reply) => {
      const body = requestBody(request);
      if (body === null) return;
      const hash = body.extensions?.persistedQuery?.sha256Hash;
      if (typeof body.query !== 'string' && typeof hash === 'string') {
        const text = deps.persisted.query(hash);
        if (text === undefined) return refuse(reply, new PhError('PH_GRAPHQL_NOT_PERSISTED', `No persisted query has the hash ${hash}`));
        body.query = text;
      }
      const caller = request.caller as Caller;
      if (typeof body.query === 'string' && caller.role !== 'admin' && deps.persisted.enforced() && !deps.persisted.allows(body.query))
        return refuse(reply, new PhError('PH_GRAPHQL_NOT_PERSISTED'));
    });
    await app.register(mercurius, {
      schema: deps.schema,
      path: GRAPHQL_PATH,
      graphiql: false,
      subscription: false,
      allowBatchedQueries: false,
      // A query seen twice is compiled (graphql-jit): the same resolvers, without graphql-js's per-field interpretation.
      jit: 1,
      context: (request: FastifyRequest) => deps.contextFor(request.caller as Caller),
      // Execution errors ride beside the data they spared (GraphQL over HTTP answers 200 then); each carries its code.
      errorFormatter: (execution) => {
        const errors = (execution.errors ?? []).map((error) => formatError(error, deps.logger));
        return { statusCode: 200, response: { data: execution.data ?? null, errors } };
      },
      errorHandler: async (error, request, reply) => {
        // A browser opening /graphql (no credential on a page load) is sent to the explorer, which signs in first.
        if (isPageLoad(request)) {
          await reply.redirect(EXPLORER_URL, 302);
          return;
        }
        const { status, body } = requestFailure(error as FastifyError & { errors?: GraphQLError[] }, deps.logger);
        await reply.code(status).send(body);
      },
    });
    app.graphql.addHook(
      'preExecution',
      async (schema: GraphQLSchema, document: DocumentNode, context: { reply: FastifyReply }, variables?: Record<string, unknown>) => {
        const request = context.reply.request;
        const caller = request.caller as Caller;
        const { refusal, cost } = cachedJudge(
          schema,
          document,
          { variables: variables ?? {}, operationName: requestBody(request)?.operationName, role: caller.role },
          deps.limits,
        );
        if (refusal !== null) throw refusal;
        // The request itself was counted as one; a costly query is charged its weight beyond that.
        const extra = Math.ceil(cost / COST_PER_REQUEST) - 1;
        if (extra <= 0) return;
        const charged = await deps.charge(caller, extra);
        // The header was set when the request was counted as one: it now says what the query left.
        if (charged.limit !== null && context.reply.hasHeader('ratelimit'))
          void context.reply.header('ratelimit', remainingHeader(charged));
        if (charged.allowed) return;
        void context.reply.header('retry-after', String(charged.resetSeconds));
        throw new PhError(
          'PH_RATE_LIMITED',
          `This query weighs ${extra + 1} requests (cost ${cost}); try again in ${charged.resetSeconds} s`,
          {
            details: { cost, requests: extra + 1, retryAfterSeconds: charged.resetSeconds },
          },
        );
      },
    );
  };
}

interface GraphqlBody {
  query?: unknown;
  operationName?: string;
  extensions?: { persistedQuery?: { sha256Hash?: unknown } };
}

function requestBody(request: FastifyRequest): GraphqlBody | null {
  const source = request.method === 'GET' ? request.query : request.body;
  return typeof source === 'object' && source !== null ? (source as GraphqlBody) : null;
}

function isPageLoad(request: FastifyRequest): boolean {
  const query = (request.query as { query?: unknown } | undefined)?.query;
  return request.method === 'GET' && (request.headers.accept ?? '').includes('text/html') && typeof query !== 'string';
}
