import { existsSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import fastifySwagger, { type FastifyStaticSwaggerOptions } from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { latestApiVersion, type ApiVersion } from '../../contract/api-versions';
import { serverEndpoint } from '../../contract/endpoints';
import { PhError } from '../../contract/errors';
import { operationNames } from '../../contract/operations';
import { roleAllows, type Role } from '../../contract/roles';
import { restRoutes } from '../../contract/routes';
import type { Caller, MetricsEndpoint } from '../core';
import type { EventBus } from '../events';
import type { Logger } from '../logger';
import type { OperationDispatcher } from '../ops';
import { Authenticator, type OAuthServer, type SessionTokens } from '../security';
import type { Service, ServiceState } from '../service';
import { answeringVersion, deprecationHeaders, namedApiVersion } from './api-versions';
import { BrowserGuard, CONSOLE_CSP, GATEWAY_CSP, SECURITY_HEADERS } from './browser-guard';
import { BODY_IDLE_TIMEOUT_MS, limitBodyIdleTime } from './body-timeout';
import { httpErrorOf } from './http-errors';
import { apiDocument } from './openapi';
import { registerRestRoutes } from './rest-routes';
import { oauthEndpoints } from './oauth-endpoints';
import { MAX_PARAM_LENGTH, RouteMethods, paramTooLong } from './route-methods';
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../ops';

export interface ReadinessReport {
  ready: boolean;
  services: { name: string; state: ServiceState; detail?: string }[];
  /** Each dependency's health (monitoring's registry): a critical one down makes the node unready. */
  dependencies?: { name: string; status: string; critical: boolean; detail: string; since: string }[];
}

/** What /readyz tells a caller without a key: readiness, and each service's and dependency's state, no detail. */
function readinessSummary(report: ReadinessReport): ReadinessReport {
  return {
    ready: report.ready,
    services: report.services.map(({ name, state }) => ({ name, state })),
    ...(report.dependencies === undefined
      ? {}
      : // The API document requires `detail`: empty rather than absent.
        { dependencies: report.dependencies.map((d) => ({ ...d, detail: '' })) }),
  };
}

interface VersionAnswer {
  readonly headers: Readonly<Record<string, string>>;
  readonly deprecated: boolean;
}
const versionAnswers = new Map<ApiVersion, VersionAnswer>();

/** A version's answer headers, built once: its name, and its deprecation headers when it has any. */
function versionAnswer(version: ApiVersion): VersionAnswer {
  let answer = versionAnswers.get(version);
  if (answer === undefined) {
    const deprecation = deprecationHeaders(version);
    answer = { headers: { 'api-version': version, ...deprecation }, deprecated: Object.keys(deprecation).length > 0 };
    versionAnswers.set(version, answer);
  }
  return answer;
}

/** Answers in `version`: its header, and its deprecation headers when it has any. */
function answerIn(request: FastifyRequest, reply: FastifyReply, version: ApiVersion): void {
  // Only a version answered before with deprecation headers (a pinned key's re-answer) left any to take back.
  if (versionAnswer(request.apiVersion).deprecated) void reply.removeHeader('deprecation').removeHeader('sunset').removeHeader('link');
  request.apiVersion = version;
  void reply.headers(versionAnswer(version).headers);
}

/** Lets an authenticated caller in when its role allows the route; a key pinned to a version gets it when the request names none. */
function admit(
  request: FastifyRequest,
  reply: FastifyReply,
  caller: Caller,
  access: Role,
  versioned: boolean,
  named: ApiVersion | null,
): void {
  if (!roleAllows(caller.role, access)) throw new PhError('PH_FORBIDDEN', `This needs the ${access} role; the key has ${caller.role}`);
  request.caller = caller;
  if (versioned && named === null && caller.apiVersion !== undefined) answerIn(request, reply, answeringVersion(named, caller.apiVersion));
}

/** A credential that names no caller is refused. */
function known(caller: Caller | null): Caller {
  if (caller === null) throw new PhError('PH_UNAUTHENTICATED');
  return caller;
}

export interface HttpServerDeps {
  readonly host: string;
  readonly port: number;
  readonly version: string;
  readonly consoleDir: string | undefined;
  readonly logger: Logger;
  readonly metrics: MetricsEndpoint;
  readonly authenticator: Authenticator;
  readonly sessions: SessionTokens;
  /** The OAuth 2.0 endpoints (token, revocation, introspection, JWKS); absent: not served. */
  readonly oauth?: OAuthServer;
  readonly dispatcher: OperationDispatcher;
  readonly bus: EventBus;
  readonly readiness: () => ReadinessReport;
  /** Handles WebSocket upgrades (`/ws`) on this port: the real-time hub. */
  readonly websocket?: WebSocketEndpoint;
  /** `--public-name`s the Host allow-list accepts beside loopback and the bound host. */
  readonly publicNames?: readonly string[];
  /** Serve HTTPS and WSS with this certificate and key (PEM); plain HTTP without. */
  readonly tls?: { readonly cert: string; readonly key: string } | null;
  /** Longest pause between two chunks of a request body before 408. Default 10 s. */
  readonly bodyIdleTimeoutMs?: number;
}

/** Where upgrade requests come from: the server, seen through the Host and Origin checks. */
export interface UpgradeSource {
  on(event: 'upgrade', listener: (req: IncomingMessage, socket: Duplex, head: Buffer) => void): unknown;
}

/** What serves WebSocket upgrades on the HTTP port; `close()` tells its clients to reconnect. */
export interface WebSocketEndpoint {
  attach(server: UpgradeSource): void;
  close(): void;
}

const BODY_LIMIT_BYTES = 1024 * 1024;

/**
 * The embedded server: health, readiness, metrics, the versioned API with its OpenAPI docs, the
 * console operations, the event socket and the built console, all on one port.
 */
export class HttpServer implements Service {
  readonly name = 'http';
  readonly app: FastifyInstance;
  #state: ServiceState = 'idle';
  #address: { host: string; port: number } | null = null;
  readonly #guard: BrowserGuard;
  readonly #methods: RouteMethods;

  constructor(private readonly deps: HttpServerDeps) {
    this.#guard = new BrowserGuard({ bindHost: deps.host, publicNames: deps.publicNames ?? [], secure: deps.tls != null });
    this.app = Fastify({
      ...(deps.tls == null ? {} : { https: { cert: deps.tls.cert, key: deps.tls.key } }),
      // Request lines at info would drown the log; errors and warnings still come through.
      loggerInstance: deps.logger.child(
        { component: 'http' },
        { level: deps.logger.levelVal > 40 ? deps.logger.level : 'warn' },
      ) as FastifyBaseLogger,
      bodyLimit: BODY_LIMIT_BYTES,
      routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
      return503OnClosing: true,
      // A backstop for the whole request (headers and body); the idle limit below acts first.
      requestTimeout: 120_000,
      forceCloseConnections: 'idle',
      trustProxy: false,
      // The router's own refusals (`%zz` in a path, an over-long parameter) in the catalogue's shape.
      frameworkErrors: (err, _request, reply) => {
        const mapped =
          err.code === 'FST_ERR_MAX_PARAM_LENGTH'
            ? paramTooLong()
            : new PhError('PH_INVALID_INPUT', 'The request path is not valid', { field: 'path' });
        void (reply as FastifyReply).code(mapped.status).send(mapped.toBody());
      },
    });
    this.#methods = new RouteMethods(this.app);
  }

  get address(): { host: string; port: number } {
    if (this.#address === null) throw new Error('The HTTP server is not listening');
    return this.#address;
  }

  async start(): Promise<void> {
    this.#state = 'starting';
    await this.#build();
    try {
      await this.app.listen({ host: this.deps.host, port: this.deps.port });
    } catch (err) {
      this.#state = 'failed';
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
        throw new PhError('PH_PORT_IN_USE', `Port ${this.deps.port} on ${this.deps.host} is already in use; pick another with --port`);
      }
      throw err;
    }
    const addr = this.app.server.address();
    if (addr === null || typeof addr === 'string') throw new Error('Unexpected server address');
    this.#address = { host: addr.address, port: addr.port };
    this.deps.websocket?.attach(this.#guardedUpgrades());
    this.#state = 'running';
  }

  /** `https` or `http`, as the server speaks. */
  get scheme(): 'https' | 'http' {
    return this.deps.tls == null ? 'http' : 'https';
  }

  /** Upgrades with a foreign Host or Origin never reach the socket server (browsers send Origin on every upgrade). */
  #guardedUpgrades(): UpgradeSource {
    const server = this.app.server;
    return {
      on: (_event, listener) =>
        server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
          const refusal = this.#guard.check(req.headers);
          if (refusal === null) return listener(req, socket, head);
          const reason = refusal.status === 421 ? 'Misdirected Request' : 'Forbidden';
          const body = JSON.stringify(refusal.toBody());
          socket.end(
            `HTTP/1.1 ${refusal.status} ${reason}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
          );
        }),
    };
  }

  /** Stops accepting, lets in-flight requests finish, and tells socket clients to reconnect. */
  async stop(): Promise<void> {
    if (this.#state !== 'running') return;
    this.#state = 'stopping';
    this.deps.websocket?.close();
    // Idle keep-alive sockets would otherwise hold close() until their own timeout.
    const closing = this.app.close();
    this.app.server.closeIdleConnections();
    await closing;
    this.#state = 'stopped';
  }

  /** Cuts every remaining connection: used when the stop deadline passes. */
  forceClose(): void {
    this.app.server.closeAllConnections();
  }

  status(): { state: ServiceState; detail?: string } {
    return this.#state === 'running'
      ? { state: 'running', detail: `listening on ${this.#address?.host}:${this.#address?.port}` }
      : { state: this.#state };
  }

  async #build(): Promise<void> {
    const app = this.app;
    const { metrics } = this.deps;
    app.decorateRequest('caller', null);
    limitBodyIdleTime(app, this.deps.bodyIdleTimeoutMs ?? BODY_IDLE_TIMEOUT_MS);
    app.decorateRequest('apiVersion', latestApiVersion);

    app.setErrorHandler((err, request, reply) => {
      const { status, body, internal } = httpErrorOf(err);
      if (internal) request.log.error({ err }, 'unhandled error');
      // Refused before its body was read (no key, a stalled body): close rather than wait for the rest.
      if (!request.raw.complete) void reply.header('connection', 'close');
      void reply.code(status).send(body);
    });
    app.setNotFoundHandler((request, reply) => {
      const path = request.url.split('?')[0] as string;
      if (this.#methods.paramTooLong(path)) {
        const refused = paramTooLong();
        void reply.code(refused.status).send(refused.toBody());
        return;
      }
      const allowed = this.#methods.allowed(path);
      if (allowed.length > 0) {
        const refused = new PhError('PH_METHOD_NOT_ALLOWED', `${path} answers ${allowed.join(', ')}, not ${request.method}`);
        void reply.code(refused.status).header('allow', allowed.join(', ')).send(refused.toBody());
        return;
      }
      void reply.code(404).send(new PhError('PH_NOT_FOUND', `Nothing at ${request.method} ${path}`).toBody());
    });

    // First of all: a rebinding Host or a foreign Origin learns nothing, not even /readyz.
    // The hooks every request passes are callback style: no promise per request where none is needed.
    app.addHook('onRequest', (request, _reply, done) => {
      const refusal = this.#guard.check(request.headers);
      done(refusal ?? undefined);
    });
    app.addHook('onRequest', (request, reply, done) => {
      const versioned = request.url.startsWith('/api/') && !request.url.startsWith('/api/docs');
      let named: ApiVersion | null = null;
      let caller: Caller | Promise<Caller>;
      let access: Role;
      try {
        if (versioned) {
          named = this.#namedVersion(request);
          // Refusals before the key is known answer in the version named, else the latest.
          answerIn(request, reply, answeringVersion(named, undefined));
        }
        const needed = request.routeOptions.config?.access ?? 'viewer';
        if (needed === 'public') {
          done();
          return;
        }
        access = needed;
        caller = this.#authenticate(request, reply);
        if (!(caller instanceof Promise)) admit(request, reply, caller, access, versioned, named);
      } catch (err) {
        done(err as Error);
        return;
      }
      if (!(caller instanceof Promise)) {
        done();
        return;
      }
      caller.then((known) => {
        try {
          admit(request, reply, known, access, versioned, named);
        } catch (err) {
          done(err as Error);
          return;
        }
        done();
      }, done);
    });

    // One onSend hook for every response: the security headers, and `connection: close` while closing.
    app.addHook('onSend', (request, reply, payload, done) => {
      void reply.headers(SECURITY_HEADERS);
      if (request.url.startsWith('/gw/')) {
        // Both policies are enforced: the upstream's, and the sandbox that keeps it off our origin.
        const upstream = reply.getHeader('content-security-policy');
        void reply.header(
          'content-security-policy',
          upstream === undefined ? GATEWAY_CSP : Array.isArray(upstream) ? [...upstream, GATEWAY_CSP] : [String(upstream), GATEWAY_CSP],
        );
      } else if (!reply.hasHeader('content-security-policy'))
        // The API docs page runs swagger-ui's inline code: it gets the framing rule only.
        void reply.header('content-security-policy', request.url.startsWith('/api/docs') ? "frame-ancestors 'none'" : CONSOLE_CSP);
      // Answers sent while the server closes (the long-polls it ended) close their connection, so no keep-alive socket holds the close.
      if (this.#state === 'stopping') void reply.header('connection', 'close');
      done(null, payload);
    });

    // Bodies are JSON here (forms at /oauth/token, octets for peer replicas, anything through the
    // gateway, each where it is read): text/plain is refused with 415 like XML, not read as a string.
    app.removeContentTypeParser('text/plain');
    // Empty POST bodies (curl -X POST with no data) mean "no input", not malformed JSON.
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
      const text = typeof body === 'string' ? body : body.toString('utf8');
      if (text.trim() === '') return done(null, undefined);
      let parsed: unknown;
      try {
        parsed = JSON.parse(text) as unknown;
      } catch {
        return done(new PhError('PH_MALFORMED_BODY'), undefined);
      }
      if (nestsDeeperThan(parsed))
        return done(new PhError('PH_JSON_TOO_DEEP', `The body nests deeper than ${MAX_JSON_DEPTH} levels`), undefined);
      done(null, parsed);
    });

    // The document is generated from the contract (route table, operations, endpoints, error catalogue), not from what fastify saw.
    // @fastify/swagger's types know 3.0 documents only; it serves a 3.1 one as it is.
    const specification = { document: apiDocument(this.deps.version) } as unknown as FastifyStaticSwaggerOptions['specification'];
    await app.register(fastifySwagger, { mode: 'static', specification });
    await app.register(async (docs) => {
      docs.addHook('onRoute', (route) => {
        route.config = { ...route.config, access: 'public' };
      });
      await docs.register(fastifySwaggerUi, { routePrefix: '/api/docs' });
    });

    const access = (path: string) => ({ access: serverEndpoint(path).access });
    app.get('/healthz', { config: access('/healthz') }, async () => ({ status: 'ok' }));
    app.get('/readyz', { config: access('/readyz') }, async (request, reply) => {
      const report = this.deps.readiness();
      // Anyone on the network may ask whether the node is ready; what each service says (the data
      // directory, node and worker ids, addresses) is for a key holder. A credential sent is checked.
      const keyed = request.headers.authorization !== undefined && (await this.#authenticate(request, reply)) !== null;
      return reply.code(report.ready ? 200 : 503).send(keyed ? report : readinessSummary(report));
    });
    app.get('/metrics', { config: access('/metrics') }, async (_request, reply) => {
      return reply.type(metrics.contentType).send(await metrics.render());
    });

    app.post('/api/v2/session', { config: access('/api/v2/session') }, async (request) => {
      const caller = request.caller as Caller;
      const credential = Authenticator.bearer(request.headers.authorization) ?? '';
      if (!credential.startsWith('ph_')) throw new PhError('PH_UNAUTHENTICATED', 'Sign in with an API key to get a session token');
      const { token, expiresAt } = await this.deps.sessions.mint(caller);
      return { token, expiresAt, role: caller.role };
    });

    if (this.deps.oauth !== undefined) await app.register(oauthEndpoints(this.deps.oauth));
    this.#registerOperations();
    registerRestRoutes(app, restRoutes, this.deps.dispatcher);
    this.#registerConsole();
  }

  /** The version a versioned request names (path, header or query), or null. */
  #namedVersion(request: FastifyRequest): ApiVersion | null {
    const pathVersion = /^\/api\/(v[^/]+)(?:\/|$)/.exec(request.url)?.[1];
    // Most requests carry no query string: parsing the URL for one costs more than the rest of this check.
    const query = request.url.includes('?')
      ? (new URL(request.url, 'http://localhost').searchParams.get('api-version') ?? undefined)
      : undefined;
    const headerValue = request.headers['api-version'];
    return namedApiVersion({ pathVersion, header: Array.isArray(headerValue) ? headerValue[0] : headerValue, query });
  }

  /**
   * The caller a request's credential names: at once for an API key, through a promise for a token.
   * A refused credential throws or rejects (401, or 429 with Retry-After).
   */
  #authenticate(request: FastifyRequest, reply: FastifyReply): Caller | Promise<Caller> {
    const refused = (err: unknown): never => {
      const wait = err instanceof PhError && err.code === 'PH_AUTH_THROTTLED' ? (err.details as { retryAfterSeconds: number }) : null;
      if (wait !== null) void reply.header('retry-after', String(wait.retryAfterSeconds));
      throw err;
    };
    let caller: Caller | null | Promise<Caller | null>;
    try {
      caller = this.deps.authenticator.authenticateNow(Authenticator.bearer(request.headers.authorization), {
        address: request.ip,
        transport: 'http',
      });
    } catch (err) {
      return refused(err);
    }
    return caller instanceof Promise ? caller.then(known, refused) : known(caller);
  }

  #registerOperations(): void {
    const { dispatcher } = this.deps;
    // Every caller gets past the route; the dispatcher checks the operation's role, and validates, so
    // IPC and HTTP reject bad input with the same code and field.
    for (const name of operationNames) {
      this.app.post(`/api/v2/ops/${name}`, { config: { access: 'viewer' } }, async (request: FastifyRequest) =>
        dispatcher.call(name, request.body, request.caller as Caller),
      );
    }
    this.app.post('/api/v2/ops/:name', { config: { access: serverEndpoint('/api/v2/ops/:name').access } }, async (request) => {
      const { name } = request.params as { name: string };
      throw new PhError('PH_UNKNOWN_OPERATION', `There is no operation named ${JSON.stringify(name)}`);
    });
  }

  #registerConsole(): void {
    const dir = this.deps.consoleDir;
    if (dir !== undefined && existsSync(join(dir, 'index.html'))) {
      void this.app.register(async (assets) => {
        assets.addHook('onRoute', (route) => {
          route.config = { ...route.config, access: 'public' };
        });
        await assets.register(fastifyStatic, { root: dir, prefix: '/', index: 'index.html' });
      });
      return;
    }
    this.app.get('/', { config: { access: serverEndpoint('/').access } }, async (_request, reply) =>
      reply.type('text/plain').send('Pilothouse is running, but the console is not built. Run `npm run build`, then reload.\n'),
    );
  }
}
