/**
 * Security's wiring: the secret store, API keys, the audit log and its writers, sessions and the
 * failed-authentication throttle first (with the event bus and metrics they report to), then, once
 * Redis is known, OAuth, the fleet-wide identity tables and the authenticator.
 */
import { join } from 'node:path';
import type { RedisOptions } from 'ioredis';
import { EventBus } from '../events';
import type { FleetTableDeps } from '../fleet';
import { identityTables, refreshSpender } from '../fleet-tables';
import { Metrics } from '../monitoring';
import type { RedisConnection } from '../redis';
import {
  AUDIT_HEAD_FILE,
  ApiKeyStore,
  AuditCounts,
  AuditHeadWriter,
  AuditLog,
  AuthThrottle,
  Authenticator,
  FleetAuditTrail,
  FleetSecrets,
  OAuthServer,
  SecretStore,
  SessionTokens,
  type AuditStartReport,
} from '../security';
import type { Logger } from '../logger';
import type { Wiring } from './wiring';

export interface SecurityWiring {
  readonly secrets: SecretStore;
  readonly keys: ApiKeyStore;
  /** In a fleet, the keys derived from the fleet secret; null on a single machine. */
  readonly fleetSecrets: FleetSecrets | null;
  readonly audit: AuditLog;
  readonly auditCounts: AuditCounts;
  readonly sessions: SessionTokens;
  readonly trail: FleetAuditTrail | null;
  readonly bus: EventBus;
  readonly metrics: Metrics;
  readonly throttle: AuthThrottle;
}

/** `target` is where Redis is (null without): a fleet's keys derive from the fleet secret. */
export async function wireSecurity(w: Wiring, target: RedisOptions | null): Promise<SecurityWiring> {
  const { config, db, clock, nodeId } = w;
  const secrets = new SecretStore(config.dataDir);
  const keys = new ApiKeyStore(db, clock);
  // In a fleet the signing and audit keys are derived from the fleet secret (docs/security.md).
  const fleetSecrets = target === null || config.fleetSecret === undefined ? null : new FleetSecrets(db, config.fleetSecret);
  const firstAuditKey = !secrets.has('audit-hmac');
  const audit = new AuditLog(db, clock, {
    key: secrets.get('audit-hmac'),
    headPath: join(config.dataDir, AUDIT_HEAD_FILE),
    fleetKey: fleetSecrets?.get('audit-hmac') ?? null,
    node: fleetSecrets === null ? undefined : nodeId,
  });
  logAuditFindings(w.logger, audit.checkAtStart(firstAuditKey));
  await w.start(new AuditHeadWriter(audit, w.options.auditHeadIntervalMs ?? 5000));
  // Started after the head writer, so it stops before it: the last tallies are in the head written at stop.
  const auditCounts = new AuditCounts((record) => audit.append(record), clock);
  await w.start(auditCounts);
  const sessions = new SessionTokens(db, keys, clock, fleetSecrets ?? secrets);
  const trail = fleetSecrets === null ? null : new FleetAuditTrail(db, audit, nodeId, fleetSecrets.get('audit-hmac'));
  const bus = new EventBus((err) => w.logger.error({ err }, 'event listener failed'));
  const metrics = new Metrics();
  audit.onAppend((entry) => bus.publish('audit.appended', entry));
  const throttle = new AuthThrottle({
    clock,
    logger: w.logger.child({ component: 'auth' }),
    registry: metrics.registry,
    audit: (record) => audit.append(record),
    options: w.options.authThrottle,
  });
  return { secrets, keys, fleetSecrets, audit, auditCounts, sessions, trail, bus, metrics, throttle };
}

export interface SignIn {
  readonly oauth: OAuthServer;
  readonly authenticator: Authenticator;
}

/** OAuth, the identity tables a fleet shares and the authenticator every transport asks. */
export async function wireSignIn(
  w: Wiring,
  security: SecurityWiring,
  redis: RedisConnection | null,
  fleetDeps: FleetTableDeps,
): Promise<SignIn> {
  const { keys, throttle, fleetSecrets, secrets, sessions, trail, bus } = security;
  // Signing keys derive from the secret store's `oauth-signing` (the fleet secret's in a fleet): docs/oauth.md.
  const oauth = new OAuthServer({
    db: w.db,
    keys,
    throttle,
    clock: w.clock,
    root: (fleetSecrets ?? secrets).get('oauth-signing'),
    ...(w.options.oauth === undefined ? {} : { options: w.options.oauth }),
    ...(redis === null ? {} : { spend: refreshSpender(redis.client) }),
  });
  // A grant that ends (here, or as its record arrives from another node) closes the sockets its tokens opened.
  oauth.grants.onRevoked((grant) =>
    bus.publish('auth.revoked', { keyId: null, sessionId: `oauth:${grant.id}`, allSessions: false, reason: 'token-revoked' }),
  );
  if (fleetSecrets !== null && trail !== null) {
    for (const table of identityTables(fleetDeps, { keys, sessions, secrets: fleetSecrets, trail, bus, oauth })) await w.start(table);
  }
  const authenticator = new Authenticator(keys, sessions, throttle, oauth);
  return { oauth, authenticator };
}

function logAuditFindings(logger: Logger, report: AuditStartReport): void {
  if (report.restoredTriggers.length > 0) {
    logger.warn({ triggers: report.restoredTriggers }, 'audit log: append-only triggers were missing or changed; re-created');
  }
  if (report.headLost !== null) logger.error({ head: report.headLost }, 'audit log: the chain head file is gone or not ours');
  if (report.truncatedFrom !== null) {
    logger.error({ from: report.truncatedFrom }, 'audit log: rows the chain head vouched for are gone; see audit.verify');
  }
}
