import type { Redis } from 'ioredis';
import { ServicePolicySchema } from '../contract/ops/discovery';
import { AlertRuleSchema, AlertSilenceSchema } from '../contract/ops/monitoring';
import type { Discovery } from './discovery';
import type { EventBus } from './events';
import { EnforcedRecordSchema, PersistedRecordSchema, type PersistedQueries } from './graphql';
import { ReplicatedTable, type FleetTableDeps } from './fleet';
import type { Monitoring } from './monitoring';
import { redisIfConnected } from './redis';
import {
  ApiKeyRecordSchema,
  AuditRowRecordSchema,
  EndedSessionSchema,
  KeyGenerationSchema,
  OAuthGrantRecordSchema,
  OAuthSigningStateSchema,
  type ApiKeyStore,
  type OAuthServer,
  type FleetAuditTrail,
  type FleetBootstrap,
  type FleetSecrets,
  type SessionTokens,
} from './security';

/**
 * The state every node holds in full and keeps the same through Redis (docs/fleet.md): alert rules,
 * their acknowledgements and silences, and the balancer's per-service policies. Started after the capabilities they read (the registry
 * loads its policies when discovery starts).
 */
export function fleetTables(deps: FleetTableDeps, monitoring: Monitoring, discovery: Discovery) {
  const common = { ...deps, logger: deps.logger.child({ component: 'fleet-tables' }) };
  return {
    alertRules: new ReplicatedTable({ ...common, name: 'alert-rules', schema: AlertRuleSchema, source: monitoring.alerts.replicaSource() }),
    alertSilences: new ReplicatedTable({
      ...common,
      name: 'alert-silences',
      schema: AlertSilenceSchema,
      source: monitoring.alerts.silences.replicaSource(),
    }),
    servicePolicies: new ReplicatedTable({
      ...common,
      name: 'service-policies',
      schema: ServicePolicySchema,
      source: discovery.registry.policyReplicaSource(),
    }),
  };
}

/**
 * Identity, fleet-wide (docs/fleet.md): API keys (with their revoked state), ended sessions, the
 * generation every node derives its signing and audit keys at, and every node's audit rows.
 * Started before anything authenticates, so a node that joins a fleet holds the fleet's keys before
 * it serves a request.
 */
export function identityTables(
  deps: FleetTableDeps,
  identity: {
    keys: ApiKeyStore;
    sessions: SessionTokens;
    secrets: FleetSecrets;
    trail: FleetAuditTrail;
    bus: EventBus;
    oauth: OAuthServer;
  },
) {
  const { keys, sessions, secrets, bus } = identity;
  // A revocation that arrives as a record (its live event may have been lost) ends its sockets here too.
  keys.onRevokedElsewhere((keyId) => bus.publish('auth.revoked', { keyId, sessionId: null, allSessions: false, reason: 'key-revoked' }));
  sessions.onEndedElsewhere((sessionId) =>
    bus.publish('auth.revoked', { keyId: null, sessionId, allSessions: false, reason: 'signed-out' }),
  );
  secrets.onRotatedElsewhere((name) => {
    if (name === 'session-signing')
      bus.publish('auth.revoked', { keyId: null, sessionId: null, allSessions: true, reason: 'secret-rotated' });
  });
  const common = { ...deps, logger: deps.logger.child({ component: 'fleet-identity' }) };
  return [
    new ReplicatedTable({ ...common, name: 'key-generations', schema: KeyGenerationSchema, source: identity.secrets.replicaSource() }),
    new ReplicatedTable({ ...common, name: 'api-keys', schema: ApiKeyRecordSchema, source: identity.keys.replicaSource() }),
    new ReplicatedTable({ ...common, name: 'ended-sessions', schema: EndedSessionSchema, source: identity.sessions.replicaSource() }),
    new ReplicatedTable({ ...common, name: 'audit', schema: AuditRowRecordSchema, source: identity.trail.replicaSource() }),
    new ReplicatedTable({
      ...common,
      name: 'oauth-signing',
      schema: OAuthSigningStateSchema,
      source: identity.oauth.signing.replicaSource(),
    }),
    new ReplicatedTable({ ...common, name: 'oauth-grants', schema: OAuthGrantRecordSchema, source: identity.oauth.grants.replicaSource() }),
  ];
}

const SPEND_TIMEOUT_MS = 1000;

/**
 * Spends a refresh token fleet-wide: `SET NX` on its hash, kept as long as its family lives. The
 * first node to spend it wins; a replay on another node, even before the rotation's record reaches
 * it, finds the key and ends the family. A Redis that does not answer in time lets the node decide
 * alone (its own copy of the family), rather than refuse every refresh while Redis is away. Not
 * sealed: a writer to Redis can only make a refresh look like a replay (ending that family).
 */
export function refreshSpender(redis: Redis): (hash: string, ttlMs: number) => Promise<boolean> {
  return async (hash, ttlMs) => {
    if (redis.status !== 'ready') return true;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), SPEND_TIMEOUT_MS);
    });
    const spent = redis
      .set(`ph:oauth:spent:${hash}`, '1', 'PX', Math.max(1000, Math.ceil(ttlMs)), 'NX')
      .then((answer) => answer === 'OK')
      .catch(() => true);
    try {
      return await Promise.race([spent, late]);
    } finally {
      clearTimeout(timer);
    }
  };
}

const BOOTSTRAP_CLAIM = 'ph:fleet:bootstrap-admin';
const BOOTSTRAP_WAIT_MS = 10_000;

/**
 * The claim on making the fleet's one bootstrap admin key: `SET NX` with an expiry, so nodes starting
 * together on an empty fleet make one key between them, and a winner that died before making it
 * does not leave the fleet without one. A Redis that cannot answer lets the node make its own.
 */
export function fleetBootstrap(redis: Redis, nodeId: string, hasKey: () => boolean): FleetBootstrap {
  return {
    claim: async () => {
      try {
        const claimed = redis.set(BOOTSTRAP_CLAIM, nodeId, 'PX', BOOTSTRAP_WAIT_MS, 'NX');
        return (await redisIfConnected(redis, claimed, 'bootstrap claim')) === 'OK';
      } catch {
        return true;
      }
    },
    waitForKey: async () => {
      for (let waited = 0; waited < BOOTSTRAP_WAIT_MS; waited += 100) {
        if (hasKey()) return true;
        await new Promise((r) => setTimeout(r, 100));
      }
      return hasKey();
    },
  };
}

/** GraphQL's persisted-query allow-list and its switch, the same on every node (docs/fleet.md). */
export function graphqlTables(deps: FleetTableDeps, persisted: PersistedQueries) {
  const common = { ...deps, logger: deps.logger.child({ component: 'fleet-tables' }) };
  const sources = persisted.replicaSources();
  return [
    new ReplicatedTable({ ...common, name: 'graphql-persisted', schema: PersistedRecordSchema, source: sources.queries }),
    new ReplicatedTable({ ...common, name: 'graphql-enforced', schema: EnforcedRecordSchema, source: sources.enforced }),
  ];
}
