/**
 * Every capability's operation handlers joined into one `OperationHandlers` (the type proves each
 * declared operation has one), the dispatcher every transport calls, and the built-in sagas, which act
 * through that dispatcher as Pilothouse itself.
 */
import { backupHandlers, type BackupService, type CatalogueShare, type SnapshotCancelRelay } from '../backup';
import { batchHandlers, type BatchCapability } from '../batch';
import { cacheHandlers, type TieredCache } from '../cache';
import type { Clock } from '../clock';
import type { LoadedConfig } from '../config';
import { sagaCaller, type CallCounter, type OperationHandlers } from '../core';
import type { Discovery } from '../discovery';
import type { EventBus } from '../events';
import type { GraphqlApi } from '../graphql';
import { monitoringHandlers, type Monitoring } from '../monitoring';
import { OperationDispatcher } from '../ops';
import { ratelimitHandlers, type RateLimits, type TierStore } from '../ratelimit';
import { realtimeHandlers, type RealtimeHub } from '../realtime';
import { restoreAndWarmSaga, sagaHandlers, shiftTrafficSaga, type CallOperation, type Sagas } from '../sagas';
import {
  securityHandlers,
  type ApiKeyStore,
  type AuditCounts,
  type AuditLog,
  type FleetAuditTrail,
  type OAuthServer,
  type SessionTokens,
} from '../security';
import { systemHandlers, type Maintenance, type SystemStatus } from '../system';
import { webhooksHandlers, type WebhookService } from '../webhooks';

export interface OperationSources {
  readonly clock: Clock;
  readonly loaded: LoadedConfig;
  readonly status: () => SystemStatus;
  readonly maintenance: Maintenance;
  readonly keys: ApiKeyStore;
  readonly audit: AuditLog;
  readonly auditCounts: AuditCounts;
  readonly sessions: SessionTokens;
  readonly bus: EventBus;
  readonly trail: FleetAuditTrail | null;
  readonly oauth: OAuthServer;
  readonly monitoring: Monitoring;
  readonly backup: BackupService;
  readonly catalogueShare: CatalogueShare | null;
  readonly snapshotCancels: SnapshotCancelRelay | null;
  readonly realtime: RealtimeHub;
  readonly cache: TieredCache;
  readonly batch: BatchCapability;
  readonly sagas: Sagas;
  readonly discovery: Discovery;
  readonly webhooks: WebhookService;
  readonly tiers: TierStore;
  readonly rateLimits: RateLimits;
  readonly graphql: GraphqlApi;
}

export function wireOperations(s: OperationSources): OperationDispatcher {
  const { clock, keys, audit, sessions, bus, trail, oauth, monitoring, maintenance, sagas } = s;
  const handlers: OperationHandlers = {
    ...systemHandlers(s.status, s.loaded, () => maintenance.view()),
    ...securityHandlers({ keys, audit, sessions, bus, now: () => clock.now(), trail, oauth }),
    ...monitoringHandlers(monitoring, () => clock.now()),
    ...backupHandlers(s.backup, s.catalogueShare, s.snapshotCancels),
    ...realtimeHandlers(s.realtime),
    ...cacheHandlers(s.cache),
    ...batchHandlers(s.batch),
    ...sagaHandlers(sagas),
    ...s.discovery.handlers,
    ...webhooksHandlers(s.webhooks),
    ...ratelimitHandlers({
      tiers: s.tiers,
      limits: s.rateLimits,
      keys,
      refusedByKey: () => monitoring.usage.refusedByKey(clock.now() - 24 * 3_600_000, clock.now() + 60_000),
    }),
    ...s.graphql.handlers,
  };
  const counter: CallCounter = {
    count: (call) => {
      s.auditCounts.count(call);
      monitoring.usage.countOperation(call.keyId, call.action, call.outcome === 'error');
    },
  };
  const dispatcher = new OperationDispatcher(handlers, audit, monitoring.observeOperation, counter);
  s.realtime.auditPublishes(counter);
  // Built-in saga types act through the operations, as Pilothouse itself, named in the audit trail for the saga a step acts for.
  const asPilothouse: CallOperation = (name, input, by) => dispatcher.call(name, input, sagaCaller(by?.sagaId)) as Promise<never>;
  sagas.register(shiftTrafficSaga(asPilothouse)).register(restoreAndWarmSaga(asPilothouse));
  return dispatcher;
}
