import type { BackupService, PickedRoots } from '../backup';
import type { BatchCapability } from '../batch';
import type { TieredCache } from '../cache';
import type { Discovery } from '../discovery';
import type { EventBus } from '../events';
import type { RedisEpoch } from '../fleet';
import type { HttpServer } from '../http';
import type { Metrics, Monitoring } from '../monitoring';
import type { OperationDispatcher } from '../ops';
import type { RateLimits, TierStore } from '../ratelimit';
import type { LiveProgress, RealtimeHub } from '../realtime';
import type { RedisConnection } from '../redis';
import type { Sagas } from '../sagas';
import type { ApiKeyStore, AuditCounts, AuditLog, OAuthServer, SecretStore, SessionTokens } from '../security';
import type { Maintenance } from '../system';
import type { WebhookService } from '../webhooks';

/** Built once `start()` has opened the store: what the transports (HTTP, IPC) need to reach. */
export interface RunningPlane {
  readonly dispatcher: OperationDispatcher;
  readonly bus: EventBus;
  readonly keys: ApiKeyStore;
  readonly audit: AuditLog;
  /** Counted operations' tallies, written as audit rows once their minute ends (tests flush them). */
  readonly auditCounts: AuditCounts;
  readonly secrets: SecretStore;
  readonly sessions: SessionTokens;
  readonly oauth: OAuthServer;
  readonly http: HttpServer;
  readonly redis: RedisConnection | null;
  /** With Redis: notices a Redis that came back empty, and whether it persists. */
  readonly epoch: RedisEpoch | null;
  readonly metrics: Metrics;
  readonly monitoring: Monitoring;
  readonly realtime: RealtimeHub;
  /** How capabilities report progress to the console and LAN programs (through the hub). */
  readonly progress: LiveProgress;
  readonly batch: BatchCapability;
  /** Saga types are registered here, like job types on `batch.queue`. */
  readonly sagas: Sagas;
  readonly discovery: Discovery;
  readonly cache: TieredCache;
  readonly backup: BackupService;
  /** Folders the desktop user picked as backup roots on this node (only the desktop shell adds to it). */
  readonly pickedRoots: PickedRoots;
  readonly webhooks: WebhookService;
  readonly tiers: TierStore;
  readonly rateLimits: RateLimits;
  /** Runs the retention cuts and reclaims the freed pages (the daily `maintenance.run` job). */
  readonly maintenance: Maintenance;
}
