/**
 * The HTTP server's wiring: its certificate, the server with its monitoring and rate limit, and the
 * routes the capabilities bring beside the contract's (the gateway, GraphQL, peer backup replicas).
 */
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PhError } from '../../contract/errors';
import { DATA_DIR } from '../core';
import { PeerInbox, peerReplicaRoutes } from '../backup';
import { GATEWAY_PREFIX, type Discovery } from '../discovery';
import type { EventBus } from '../events';
import type { FleetSeal } from '../fleet';
import type { GraphqlApi } from '../graphql';
import { HttpServer, loadTls, tlsMode, upgradesByPath, type ReadinessReport, type TlsMaterial } from '../http';
import type { Metrics, Monitoring } from '../monitoring';
import type { OperationDispatcher } from '../ops';
import { installRateLimit, type RateLimits, type TierStore } from '../ratelimit';
import type { RealtimeHub } from '../realtime';
import type { AuditLog, Authenticator, OAuthServer, SessionTokens } from '../security';
import { pilothouseVersion } from '../version';
import type { Wiring } from './wiring';

type GraphqlTransports = ReturnType<GraphqlApi['transports']>;

/** The certificate the server presents (null for plain HTTP), said in the log either way. */
export async function loadServerTls(w: Wiring): Promise<TlsMaterial | null> {
  const { config, logger } = w;
  const tls = await loadTls(tlsMode(config), config.dataDir, { bindHost: config.host, publicNames: config.publicNames ?? [] });
  if (tls !== null) {
    const { fingerprint256, certFile, selfSigned, validTo } = tls;
    logger.info({ fingerprint256, certFile, selfSigned, validTo }, 'TLS on: HTTPS and WSS; compare or pin the SHA-256 fingerprint');
  } else if (config.lanAccess) {
    logger.warn('LAN access over plain HTTP (--insecure-lan): API keys and session tokens cross the network in clear text');
  }
  return tls;
}

export interface HttpLinks {
  readonly tls: TlsMaterial | null;
  readonly metrics: Metrics;
  readonly monitoring: Monitoring;
  readonly authenticator: Authenticator;
  readonly sessions: SessionTokens;
  readonly oauth: OAuthServer;
  readonly dispatcher: OperationDispatcher;
  readonly bus: EventBus;
  readonly readiness: () => ReadinessReport;
  readonly realtime: RealtimeHub;
  readonly graphql: GraphqlTransports;
  readonly rateLimits: RateLimits;
  readonly tiers: TierStore;
}

/** The server on one port for the API, the console, `/ws` and `/graphql`, timed by monitoring and rate-limited. */
export function buildHttp(w: Wiring, deps: HttpLinks): HttpServer {
  const { config } = w;
  const http = new HttpServer({
    host: config.host,
    publicNames: config.publicNames ?? [],
    tls: deps.tls,
    port: config.port,
    bodyIdleTimeoutMs: config.bodyIdleTimeoutMs,
    version: pilothouseVersion,
    consoleDir: config.consoleDir ?? defaultConsoleDir(),
    logger: w.logger,
    metrics: deps.metrics,
    authenticator: deps.authenticator,
    sessions: deps.sessions,
    oauth: deps.oauth,
    dispatcher: deps.dispatcher,
    bus: deps.bus,
    readiness: deps.readiness,
    websocket: upgradesByPath({ '/ws': deps.realtime, '/graphql': deps.graphql.sockets }, [
      {
        prefix: `${GATEWAY_PREFIX}/`,
        error: new PhError(
          'PH_DISCOVERY_UPGRADE_NOT_PROXIED',
          'The gateway proxies HTTP requests only: connect to the instance directly for WebSocket or another upgraded protocol',
        ),
      },
    ]),
  });
  deps.monitoring.instrument(http.app);
  if (w.options.httpRateLimit !== false) installRateLimit(http.app, deps.rateLimits, deps.tiers);
  return http;
}

/** The routes capabilities bring beside the contract's: the discovery gateway, GraphQL over HTTP, peer backup replicas. */
export function installRoutes(
  w: Wiring,
  http: HttpServer,
  deps: { discovery: Discovery; graphql: GraphqlTransports; peerSeal: FleetSeal | null; audit: AuditLog },
): void {
  const { config } = w;
  void http.app.register(deps.discovery.gateway);
  void http.app.register(deps.graphql.http);
  void http.app.register(
    peerReplicaRoutes({
      inbox: new PeerInbox(
        join(config.dataDir, DATA_DIR.peerReplicas),
        config.backup?.peerSenders ?? [],
        config.backup?.peerQuotaMiB === undefined ? null : config.backup.peerQuotaMiB * 1024 * 1024,
      ),
      seal: deps.peerSeal,
      audit: deps.audit,
    }),
  );
}

/**
 * The built console is `out/renderer`. Bundled, this file sits somewhere under `out/main`; from
 * source (tests, tsx) under `main/plane/`. Walk up to whichever `out/` holds a built `renderer/index.html`.
 */
function defaultConsoleDir(): string {
  let dir = typeof __dirname === 'string' ? __dirname : dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 5; depth += 1) {
    const candidates = basename(dir) === 'out' ? [join(dir, 'renderer')] : [join(dir, 'out', 'renderer')];
    const found = candidates.find((c) => existsSync(join(c, 'index.html')));
    if (found !== undefined) return found;
    dir = dirname(dir);
  }
  return join(process.cwd(), 'out', 'renderer');
}
