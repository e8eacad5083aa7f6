import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import { PhError } from '../../contract/errors';
import { operations, operationNames } from '../../contract/operations';
import { roleAllows, type Role } from '../../contract/roles';
import type { EventBus } from '../events/event-bus';
import type { Logger } from '../logger';
import type { Metrics } from '../monitoring/metrics';
import type { OperationDispatcher } from '../ops/operation-dispatcher';
import { Authenticator } from '../security/authenticator';
import type { Caller } from '../security/caller';
import type { SessionTokens } from '../security/session-tokens';
import type { Service, ServiceState } from '../service';
import { apiVersions, deprecationHeaders, latestApiVersion, negotiateApiVersion, type ApiVersion } from './api-versions';
import { httpErrorOf } from './http-errors';
import { registerVersionedRoutes, type VersionedRoute } from './versioned-routes';

declare module 'fastify' {
  interface FastifyRequest {
    caller: Caller | null;
    apiVersion: ApiVersion;
  }
  interface FastifyContextConfig {
    /** The least role a route needs, or `public`. Routes that say nothing need a viewer. */
    access?: Role | 'public';
  }
}

export interface ReadinessReport {
  ready: boolean;
  services: { name: string; state: ServiceState; detail?: string }[];
  /** Each dependency's health (monitoring's registry): a critical one down makes the node unready. */
  dependencies?: { name: string; status: string; critical: boolean; detail: string; since: string }[];
}

export interface HttpServerDeps {
  readonly host: string;
  readonly port: number;
  readonly version: string;
  readonly consoleDir: string | undefined;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly authenticator: Authenticator;
  readonly sessions: SessionTokens;
  readonly dispatcher: OperationDispatcher;
  readonly bus: EventBus;
  readonly readiness: () => ReadinessReport;
  /** REST routes under /api/v1 and /api/v2 that capabilities contribute. */
  readonly routes: readonly VersionedRoute[];
  /** Handles WebSocket upgrades (`/ws`) on this port: the real-time hub. */
  readonly websocket?: WebSocketEndpoint;
}

/** What serves WebSocket upgrades on the HTTP port; `close()` tells its clients to reconnect. */
export interface WebSocketEndpoint {
  attach(server: Server): void;
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

  constructor(private readonly deps: HttpServerDeps) {
    this.app = Fastify({
      // Request lines at info would drown the log; errors and warnings still come through.
      loggerInstance: deps.logger.child(
        { component: 'http' },
        { level: deps.logger.levelVal > 40 ? deps.logger.level : 'warn' },
      ) as FastifyBaseLogger,
      bodyLimit: BODY_LIMIT_BYTES,
      // Cache keys in REST paths may be up to 512 bytes; fastify's default of 100 would answer 414.
      routerOptions: { maxParamLength: 1024 },
      return503OnClosing: true,
      forceCloseConnections: 'idle',
      trustProxy: false,
    });
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
    this.deps.websocket?.attach(this.app.server);
    this.#state = 'running';
  }

  /** Stops accepting, lets in-flight requests finish, and tells socket clients to reconnect. */
  async stop(): Promise<void> {
    if (this.#state !== 'running') return;
    this.#state = 'stopping';
    this.deps.websocket?.close();
    await this.app.close();
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
    const { metrics, authenticator } = this.deps;
    app.decorateRequest('caller', null);
    app.decorateRequest('apiVersion', latestApiVersion);

    app.setErrorHandler((err, request, reply) => {
      const { status, body, internal } = httpErrorOf(err);
      if (internal) request.log.error({ err }, 'unhandled error');
      void reply.code(status).send(body);
    });
    app.setNotFoundHandler((request, reply) => {
      void reply.code(404).send(new PhError('PH_NOT_FOUND', `Nothing at ${request.method} ${request.url.split('?')[0]}`).toBody());
    });

    app.addHook('onRequest', async (request, reply) => {
      const pathVersion = /^\/api\/(v[^/]+)(?:\/|$)/.exec(request.url)?.[1];
      if (request.url.startsWith('/api/') && !request.url.startsWith('/api/docs')) {
        const query = new URL(request.url, 'http://localhost').searchParams.get('api-version') ?? undefined;
        const headerValue = request.headers['api-version'];
        request.apiVersion = negotiateApiVersion({
          pathVersion,
          header: Array.isArray(headerValue) ? headerValue[0] : headerValue,
          query,
        });
        void reply.headers({ 'api-version': request.apiVersion, ...deprecationHeaders(request.apiVersion) });
      }
      const access = request.routeOptions.config?.access ?? 'viewer';
      if (access === 'public') return;
      let caller: Caller | null;
      try {
        caller = await authenticator.authenticate(Authenticator.bearer(request.headers.authorization), {
          address: request.ip,
          transport: 'http',
        });
      } catch (err) {
        const wait = err instanceof PhError && err.code === 'PH_AUTH_THROTTLED' ? (err.details as { retryAfterSeconds: number }) : null;
        if (wait !== null) void reply.header('retry-after', String(wait.retryAfterSeconds));
        throw err;
      }
      if (caller === null) throw new PhError('PH_UNAUTHENTICATED');
      if (!roleAllows(caller.role, access)) throw new PhError('PH_FORBIDDEN', `This needs the ${access} role; the key has ${caller.role}`);
      request.caller = caller;
    });

    // Empty POST bodies (curl -X POST with no data) mean "no input", not malformed JSON.
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
      const text = typeof body === 'string' ? body : body.toString('utf8');
      if (text.trim() === '') return done(null, undefined);
      try {
        done(null, JSON.parse(text) as unknown);
      } catch {
        done(new PhError('PH_MALFORMED_BODY'), undefined);
      }
    });

    await app.register(fastifySwagger, {
      openapi: {
        openapi: '3.0.3',
        info: {
          title: 'Pilothouse API',
          version: this.deps.version,
          description: `Versions: ${apiVersions.join(', ')} (v1 is deprecated). Send \`Authorization: Bearer <API key or session token>\`.`,
        },
        components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
        security: [{ bearer: [] }],
      },
    });
    await app.register(async (docs) => {
      docs.addHook('onRoute', (route) => {
        route.config = { ...route.config, access: 'public' };
      });
      await docs.register(fastifySwaggerUi, { routePrefix: '/api/docs' });
    });

    app.get('/healthz', { config: { access: 'public' }, schema: { hide: true } }, async () => ({ status: 'ok' }));
    app.get('/readyz', { config: { access: 'public' }, schema: { hide: true } }, async (_request, reply) => {
      const report = this.deps.readiness();
      return reply.code(report.ready ? 200 : 503).send(report);
    });
    app.get('/metrics', { config: { access: 'viewer' }, schema: { hide: true } }, async (_request, reply) => {
      return reply.type(metrics.contentType).send(await metrics.render());
    });

    app.post(
      '/api/v2/session',
      {
        config: { access: 'viewer' },
        schema: { summary: 'Mint a short-lived session token from an API key', tags: ['session'] },
      },
      async (request) => {
        const caller = request.caller as Caller;
        const credential = Authenticator.bearer(request.headers.authorization) ?? '';
        if (!credential.startsWith('ph_')) throw new PhError('PH_UNAUTHENTICATED', 'Sign in with an API key to get a session token');
        const { token, expiresAt } = await this.deps.sessions.mint(caller);
        return { token, expiresAt, role: caller.role };
      },
    );

    this.#registerOperations();
    registerVersionedRoutes(app, this.deps.routes);
    this.#registerConsole();
  }

  #registerOperations(): void {
    const { dispatcher } = this.deps;
    const passThrough = () => () => true;
    for (const name of operationNames) {
      const def = operations[name];
      this.app.post(
        `/api/v2/ops/${name}`,
        {
          config: { access: 'viewer' },
          schema: { summary: def.summary, tags: ['operations'], body: def.input, response: { 200: def.output } },
          // The dispatcher validates, so IPC and HTTP reject bad input with the same code and field.
          validatorCompiler: passThrough,
          serializerCompiler: () => (data) => JSON.stringify(data),
        },
        async (request: FastifyRequest) => dispatcher.call(name, request.body, request.caller as Caller),
      );
    }
    this.app.post('/api/v2/ops/:name', { config: { access: 'viewer' }, schema: { hide: true } }, async (request) => {
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
    this.app.get('/', { config: { access: 'public' }, schema: { hide: true } }, async (_request, reply) =>
      reply.type('text/plain').send('Pilothouse is running, but the console is not built. Run `npm run build`, then reload.\n'),
    );
  }
}
