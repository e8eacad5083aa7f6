import type { Database } from 'better-sqlite3';
import type { Redis } from 'ioredis';
import { ServicePolicySchema } from '../contract/ops/discovery';
import { AlertRuleSchema } from '../contract/ops/monitoring';
import type { Clock } from './clock';
import type { Discovery } from './discovery';
import type { EventBus } from './events';
import { ReplicatedTable, type FleetSeal, type RedisEpoch } from './fleet';
import type { Logger } from './logger';
import type { Monitoring } from './monitoring';
import {
  ApiKeyRecordSchema,
  AuditRowRecordSchema,
  EndedSessionSchema,
  KeyGenerationSchema,
  type ApiKeyStore,
  type FleetAuditTrail,
  type FleetBootstrap,
  type FleetSecrets,
  type SessionTokens,
} from './security';

export interface FleetTableDeps {
  readonly db: Database;
  readonly clock: Clock;
  readonly nodeId: string;
  readonly redis: Redis | null;
  readonly seal: FleetSeal | null;
  readonly logger: Logger;
  /** The node's Redis epoch watch: tables write their records back when Redis comes back empty. */
  readonly epoch?: Pick<RedisEpoch, 'onEmptied'> | null;
  /** How often each table checks that Redis still holds the fleet's copy (tests shorten it). */
  readonly checkIntervalMs?: number;
}

/**
 * The state every node holds in full and keeps the same through Redis (docs/fleet.md): alert rules
 * and the balancer's per-service policies. Started after the capabilities they read (the registry
 * loads its policies when discovery starts).
 */
export function fleetTables(deps: FleetTableDeps, monitoring: Monitoring, discovery: Discovery) {
  const common = { ...deps, logger: deps.logger.child({ component: 'fleet-tables' }) };
  return {
    alertRules: new ReplicatedTable({ ...common, name: 'alert-rules', schema: AlertRuleSchema, source: monitoring.alerts.replicaSource() }),
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
  identity: { keys: ApiKeyStore; sessions: SessionTokens; secrets: FleetSecrets; trail: FleetAuditTrail; bus: EventBus },
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
  ];
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
        return (await redis.set(BOOTSTRAP_CLAIM, nodeId, 'PX', BOOTSTRAP_WAIT_MS, 'NX')) === 'OK';
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
