import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { GraphQLError, parse, validate, type ExecutionResult, type GraphQLSchema } from 'graphql';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { PhError } from '../../contract/errors';
import type { EventMessage, EventPayload } from '../../contract/events';
import { KeyConnections, signedInWithSession, type Caller } from '../core';
import type { Logger } from '../logger';
import type { Authenticator } from '../security';
import type { Charge, EventSource, GraphqlContext } from './context';
import { formatError } from './errors';
import { COST_PER_REQUEST } from './graphql-http';
import { cachedJudge, type GraphqlLimits } from './limits';
import type { PersistedQueries } from './persisted';

type Revocation = EventPayload<'auth.revoked'>;
type Upgradable = { on(event: 'upgrade', cb: (req: IncomingMessage, socket: Duplex, head: Buffer) => void): unknown };

export interface GraphqlSocketsDeps {
  readonly schema: GraphQLSchema;
  readonly authenticator: Authenticator;
  readonly events: EventSource;
  readonly limits: GraphqlLimits;
  readonly persisted: PersistedQueries;
  readonly logger: Logger;
  readonly contextFor: (caller: Caller) => GraphqlContext;
  /** Spends the caller's rate-limit budget (the one its HTTP requests and hub frames spend). */
  readonly charge: Charge;
  /** How long a client has to send `connection_init` (default 3 s). */
  readonly initTimeoutMs?: number;
  /** Sockets one viewer or operator key may hold here at once (default 256, as the hub's `maxConnectionsPerKey`). */
  readonly maxConnectionsPerKey?: number;
}

/** A catalogue error as graphql-ws sends it, in an `error` message. */
const asGraphqlError = (error: PhError): GraphQLError =>
  new GraphQLError(error.message, {
    extensions: { code: error.code, status: error.status, ...(error.details === undefined ? {} : { details: error.details }) },
  });

/** True when the revocation ends what `caller` signed in with (the same rule as the hub's). */
function revokes(revocation: Revocation, caller: Caller): boolean {
  return (
    (revocation.keyId !== null && caller.keyId === revocation.keyId) ||
    (revocation.sessionId !== null && caller.sessionId === revocation.sessionId) ||
    (revocation.allSessions && signedInWithSession(caller))
  );
}

/** The credential in `connection_init`: `{ authorization: 'Bearer …' }` (as headers) or `{ token }`. */
function credentialOf(payload: Record<string, unknown> | undefined): string | undefined {
  const authorization = payload?.authorization ?? payload?.Authorization;
  if (typeof authorization === 'string') return authorization.replace(/^Bearer\s+/i, '').trim() || undefined;
  return typeof payload?.token === 'string' ? payload.token : undefined;
}

/**
 * GraphQL subscriptions (and queries, mutations) over the `graphql-transport-ws` protocol, on the
 * hub's port at `/graphql`. The key or session token comes in `connection_init`, checked by the
 * server's Authenticator (and its failed-sign-in throttle); each subscription's document passes the
 * same allow-list and limits as over HTTP; events come from the stream the console's hub delivers.
 * A revocation (`auth.revoked`, from this node or another) closes the sockets it names at once.
 */
export class GraphqlSockets {
  readonly #wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
  readonly #callers = new Map<WebSocket, Caller>();
  readonly #perKey: KeyConnections;
  #stopListening: (() => void) | null = null;
  #closed = false;

  constructor(private readonly deps: GraphqlSocketsDeps) {
    const { schema, authenticator, limits, persisted, logger } = deps;
    this.#perKey = new KeyConnections(deps.maxConnectionsPerKey ?? 256);
    useServer<Record<string, unknown>>(
      {
        schema,
        connectionInitWaitTimeout: deps.initTimeoutMs ?? 3000,
        onConnect: async (ctx) => {
          const credential = credentialOf(ctx.connectionParams);
          const address = ctx.extra.request.socket.remoteAddress ?? 'unknown';
          const caller =
            credential === undefined ? null : await authenticator.authenticate(credential, { address, transport: 'ws' }).catch(() => null);
          if (caller === null) return false;
          const refused = this.#perKey.enter(caller);
          if (refused !== null) {
            ctx.extra.socket.close(CloseCode.Forbidden, refused.message);
            return false;
          }
          this.#track(ctx.extra.socket, caller);
          return true;
        },
        onSubscribe: async (ctx, _id, payload) => {
          const caller = this.#callers.get(ctx.extra.socket);
          if (caller === undefined) return [asGraphqlError(new PhError('PH_UNAUTHENTICATED'))];
          if (caller.role !== 'admin' && persisted.enforced() && !persisted.allows(payload.query))
            return [asGraphqlError(new PhError('PH_GRAPHQL_NOT_PERSISTED'))];
          let document;
          try {
            document = parse(payload.query);
          } catch (err) {
            return [asGraphqlError(new PhError('PH_GRAPHQL_INVALID', (err as Error).message))];
          }
          const invalid = validate(schema, document);
          if (invalid.length > 0) return invalid.map((error) => asGraphqlError(new PhError('PH_GRAPHQL_INVALID', error.message)));
          const variables = payload.variables ?? {};
          const operationName = payload.operationName ?? undefined;
          const { refusal, cost } = cachedJudge(schema, document, { variables, operationName, role: caller.role }, limits);
          if (refusal !== null) return [asGraphqlError(refusal)];
          // One budget per caller: each operation on the socket spends it as an HTTP request of its cost would.
          const weight = Math.max(1, Math.ceil(cost / COST_PER_REQUEST));
          const charged = await deps.charge(caller, weight);
          if (!charged.allowed) {
            const message = `This operation weighs ${weight} requests; try again in ${charged.resetSeconds} s`;
            return [
              asGraphqlError(new PhError('PH_RATE_LIMITED', message, { details: { cost, retryAfterSeconds: charged.resetSeconds } })),
            ];
          }
          return {
            schema,
            document,
            variableValues: variables,
            operationName: payload.operationName ?? null,
            contextValue: deps.contextFor(caller),
          };
        },
        onNext: (_ctx, _id, _payload, _args, result) => {
          const errors = (result as ExecutionResult).errors;
          if (errors === undefined) return result;
          return { ...result, errors: errors.map((error) => formatError(error, logger)) } as never;
        },
      },
      this.#wss,
    );
  }

  get connectionCount(): number {
    return this.#callers.size;
  }

  /** Takes upgrades to `/graphql`; the server routes other paths elsewhere. */
  attach(server: Upgradable): void {
    server.on('upgrade', (req, socket, head) => {
      if (this.#closed) {
        socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n');
        return;
      }
      // An address blocked for failed sign-ins is refused before it becomes a socket, as at the hub.
      try {
        this.deps.authenticator.assertNotThrottled({ address: req.socket.remoteAddress ?? 'unknown', transport: 'ws' });
      } catch (err) {
        const body = JSON.stringify((err as PhError).toBody());
        const { retryAfterSeconds } = (err as PhError).details as { retryAfterSeconds: number };
        socket.end(
          `HTTP/1.1 429 Too Many Requests\r\nRetry-After: ${retryAfterSeconds}\r\nContent-Type: application/json\r\n` +
            `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
        );
        return;
      }
      this.#wss.handleUpgrade(req, socket, head, (ws) => this.#wss.emit('connection', ws, req));
    });
  }

  /** Tells every client the server is going away (they reconnect to another node, or here after restart). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const ws of this.#callers.keys()) ws.close(1001, 'server stopping');
    this.#wss.close();
    this.#stopListening?.();
    this.#stopListening = null;
  }

  #track(ws: WebSocket, caller: Caller): void {
    this.#callers.set(ws, caller);
    ws.once('close', () => {
      this.#perKey.leave(caller);
      this.#callers.delete(ws);
      if (this.#callers.size > 0) return;
      this.#stopListening?.();
      this.#stopListening = null;
    });
    // Listen for revocations only while someone is connected: a listener makes the hub build every event for it.
    this.#stopListening ??= this.deps.events((message) => this.#onEvent(message));
  }

  #onEvent(message: EventMessage): void {
    if (message.event !== 'auth.revoked') return;
    for (const [ws, caller] of this.#callers) {
      if (!revokes(message.payload, caller)) continue;
      this.#callers.delete(ws);
      ws.close(CloseCode.Forbidden, `revoked: ${message.payload.reason}`);
      // A client that never answers the close handshake is cut off rather than held open.
      setTimeout(() => ws.terminate(), 1000).unref();
    }
  }
}
