/**
 * The composition root: builds every capability in dependency order, wires them to each other and to
 * the fleet, and stops them in reverse. Longer than the ~450 lines a file should keep to because it is
 * the one place where the start order and every cross-capability link can be read together; each
 * capability's own setup lives in its folder.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PhError } from '../contract';
import {
  BackupService,
  CatalogueShare,
  PeerInbox,
  PickedRoots,
  SnapshotCancelRelay,
  backupHandlers,
  backupMigrations,
  peerReplicaRoutes,
  registerBackupJobs,
  type BackupServiceOptions,
} from './backup';
import { restoreAndWarmSaga, Sagas, type CallOperation, sagaHandlers, sagaMigrations, shiftTrafficSaga } from './sagas';
import { batchHandlers, batchMigrations, createBatchCapability, type BatchCapability, type BullmqJobQueueOptions } from './batch';
import { TieredCache, cacheHandlers, cacheMigrations, cacheSeries, registerCacheJobs, registerCacheMetrics } from './cache';
import { systemClock, type Clock } from './clock';
import { backupRoots, type Config, type LoadedConfig } from './config';
import { systemCaller, type OperationHandlers } from './core';
import { buildDiscovery, discoveryMigrations, type Discovery, type DiscoveryDeps } from './discovery';
import { EventBus } from './events';
import { FleetSeal, fleetMigrations, loadNodeId, RedisEpoch, type RedisEpochOptions } from './fleet';
import { fleetBootstrap, fleetTables, graphqlTables, identityTables, refreshSpender } from './fleet-tables';
import { GraphqlApi, graphqlMigrations } from './graphql';
import { HttpServer, loadTls, tlsMode, upgradesByPath, type ReadinessReport, type TlsMaterial } from './http';
import { createLogger, type Logger } from './logger';
import { buildMaintenance, retentionSettings } from './maintenance-plan';
import { Metrics, Monitoring, monitoringHandlers, monitoringMigrations, type MonitoringOptions } from './monitoring';
import { OperationDispatcher } from './ops';
import {
  RateLimits,
  TierStore,
  callerBudget,
  callerCharge,
  installRateLimit,
  rateLimitTables,
  ratelimitHandlers,
  ratelimitMigrations,
} from './ratelimit';
import { LiveProgress, RealtimeHub, realtimeHandlers, realtimeMigrations, withRoomRules, type HubOptions } from './realtime';
import { RedisConnection, redisTarget } from './redis';
import {
  AUDIT_HEAD_FILE,
  ApiKeyStore,
  AuditCounts,
  AuditHeadWriter,
  FleetAuditTrail,
  FleetSecrets,
  AuditLog,
  OAuthServer,
  AuthThrottle,
  Authenticator,
  SecretStore,
  SessionTokens,
  bootstrapAdminKey,
  hardenDataDir,
  securityHandlers,
  securityMigrations,
  type AuditStartReport,
  type AuthThrottleOptions,
  type OAuthOptions,
} from './security';
import type { Service } from './service';
import { StoreService, type Migration } from './store';
import { StatusPublisher, systemHandlers, type Maintenance, type SystemStatus } from './system';
import { pilothouseVersion } from './version';
import { WebhookService, webhookTables, webhooksHandlers, webhooksMigrations, type WebhookOptions } from './webhooks';

export interface ControlPlaneOptions {
  readonly mode: 'desktop' | 'headless';
  readonly logger?: Logger;
  readonly clock?: Clock;
  /** Sampling and health intervals, window and retention of monitoring (tests shorten them). */
  readonly monitoring?: Partial<MonitoringOptions>;
  /** Real-time hub settings (ping interval, caps, room rules); defaults suit a LAN. */
  readonly realtime?: Partial<HubOptions> & { node?: string };
  readonly discovery?: Pick<DiscoveryDeps, 'lan' | 'checker' | 'gateway' | 'redisSync'>;
  /**
   * Fleet settings tests shorten: how often fleet-wide tables check that Redis still holds the fleet's
   * copy (default 5 s), how often the Redis epoch is checked, the job queue's intervals.
   */
  readonly fleet?: {
    readonly checkIntervalMs?: number;
    readonly epoch?: Pick<RedisEpochOptions, 'checkMs'>;
    readonly jobs?: BullmqJobQueueOptions;
  };
  /** Failed-authentication limits (tests shorten them); defaults: 10 a minute, then 1, 2, 4... minutes. */
  readonly authThrottle?: Partial<AuthThrottleOptions>;
  /** OAuth token lifetimes and signing-key rotation (tests shorten them); defaults in main/security/oauth-server.ts. */
  readonly oauth?: Partial<OAuthOptions>;
  /** How often the audit chain head is written out of the database (default 5 s). */
  readonly auditHeadIntervalMs?: number;
  /** Backup repository tuning (tests make packs small, so a transfer has many files to stop between). */
  readonly backup?: Pick<BackupServiceOptions, 'packTargetBytes'>;
  /** Webhook delivery settings (retry window, back-off, timeout, allowed ranges); tests shorten them. */
  readonly webhooks?: Partial<WebhookOptions>;
}

/** Every capability's migrations, in the order their scopes were introduced (also what `admin-key --reset` opens the store with). */
export const migrations: readonly Migration[] = [
  ...securityMigrations,
  ...monitoringMigrations,
  ...discoveryMigrations,
  ...batchMigrations,
  ...cacheMigrations,
  ...realtimeMigrations,
  ...backupMigrations,
  ...fleetMigrations,
  ...webhooksMigrations,
  ...ratelimitMigrations,
  ...graphqlMigrations,
  ...sagaMigrations,
];

/** Built once `start()` has opened the store: what the transports (HTTP, IPC) need to reach. */
export interface RunningPlane {
  readonly dispatcher: OperationDispatcher;
  readonly bus: EventBus;
  readonly keys: ApiKeyStore;
  readonly audit: AuditLog;
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

/**
 * The composition root: the one place that knows every service. It builds them from the config,
 * starts them in order and stops them in reverse within the configured deadline.
 */
export class ControlPlane {
  readonly logger: Logger;
  readonly clock: Clock;
  readonly store: StoreService;
  /** Set when this start created the bootstrap admin key. */
  adminKeyFile: string | null = null;
  /** This node's stable name in the fleet (kept in `<dataDir>/node.id`); set by `start()`. */
  nodeId = '';
  /** The certificate the server presents, once started with TLS. */
  tls: TlsMaterial | null = null;
  #running: RunningPlane | null = null;
  /** Every service this start built, in start order, for status; `#started` holds those that started. */
  #services: Service[] = [];
  #started: Service[] = [];
  #publisher: StatusPublisher | null = null;
  #startedAt = 0;
  #stopping: Promise<void> | null = null;

  constructor(
    readonly loaded: LoadedConfig,
    private readonly options: ControlPlaneOptions,
  ) {
    this.logger = options.logger ?? createLogger(loaded.config.logLevel);
    this.clock = options.clock ?? systemClock;
    this.store = new StoreService(loaded.config.dataDir, migrations);
  }

  get running(): RunningPlane {
    if (this.#running === null) throw new Error('The control plane is not started');
    return this.#running;
  }

  /** The URL of the console and API, once started. */
  get url(): string {
    const { host, port } = this.running.http.address;
    return `${this.running.http.scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  }

  async start(): Promise<void> {
    const { config } = this.loaded;
    const kept = retentionSettings(config);
    this.#startedAt = this.clock.now();
    try {
      mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw new PhError(
        'PH_PERMISSION_DENIED',
        `Pilothouse cannot create its data directory ${config.dataDir} (${code}); pick another with --data-dir`,
        {
          details: { path: config.dataDir },
          cause: err,
        },
      );
    }
    try {
      await this.#startService(this.store);
      // What a migration deleted (a secret an earlier version kept) must leave the main file too, not linger until a checkpoint.
      this.store.db.pragma('wal_checkpoint(TRUNCATE)');
      hardenDataDir(config.dataDir, this.logger);
      this.nodeId = this.options.realtime?.node ?? loadNodeId(config.dataDir);
      const nodeId = this.nodeId;
      const db = this.store.db;
      const secrets = new SecretStore(config.dataDir);
      const keys = new ApiKeyStore(db, this.clock);
      const target = redisTarget(config);
      // In a fleet the signing and audit keys are derived from the fleet secret (docs/security.md).
      const fleetSecrets = target === null || config.fleetSecret === undefined ? null : new FleetSecrets(db, config.fleetSecret);
      const firstAuditKey = !secrets.has('audit-hmac');
      const audit = new AuditLog(db, this.clock, {
        key: secrets.get('audit-hmac'),
        headPath: join(config.dataDir, AUDIT_HEAD_FILE),
        fleetKey: fleetSecrets?.get('audit-hmac') ?? null,
        node: fleetSecrets === null ? undefined : nodeId,
      });
      this.#logAuditFindings(audit.checkAtStart(firstAuditKey));
      await this.#startService(new AuditHeadWriter(audit, this.options.auditHeadIntervalMs ?? 5000));
      // Started after the head writer, so it stops before it: the last tallies are in the head written at stop.
      const auditCounts = new AuditCounts((record) => audit.append(record), this.clock);
      await this.#startService(auditCounts);
      const sessions = new SessionTokens(db, keys, this.clock, fleetSecrets ?? secrets);
      const trail = fleetSecrets === null ? null : new FleetAuditTrail(db, audit, nodeId, fleetSecrets.get('audit-hmac'));
      const bus = new EventBus((err) => this.logger.error({ err }, 'event listener failed'));
      const metrics = new Metrics();
      audit.onAppend((entry) => bus.publish('audit.appended', entry));
      const throttle = new AuthThrottle({
        clock: this.clock,
        logger: this.logger.child({ component: 'auth' }),
        registry: metrics.registry,
        audit: (record) => audit.append(record),
        options: this.options.authThrottle,
      });

      const redis = target === null ? null : new RedisConnection(target, this.logger.child({ component: 'redis' }));
      if (redis !== null && config.fleetSecret === undefined) {
        throw new PhError('PH_CONFIG_INVALID', 'Setting "fleetSecret" is required with Redis', { field: 'fleetSecret' });
      }
      const seal =
        redis === null || config.fleetSecret === undefined
          ? null
          : new FleetSeal({
              secret: config.fleetSecret,
              nodeId,
              clock: this.clock,
              registry: metrics.registry,
              logger: this.logger.child({ component: 'fleet' }),
            });
      if (redis !== null) await this.#startService(redis);
      const epoch =
        redis === null
          ? null
          : new RedisEpoch(redis.client, config.dataDir, this.clock, this.logger.child({ component: 'fleet' }), {
              ...this.options.fleet?.epoch,
              requireDurable: config.requireDurableRedis ?? false,
            });
      if (epoch !== null) {
        await this.#startService(epoch);
        const durability = epoch.durability;
        if (durability !== null && durability.durable !== true)
          bus.publish('fleet.redis', {
            kind: 'not-durable',
            code: 'PH_REDIS_NOT_DURABLE',
            message: durability.detail,
            node: nodeId,
            at: new Date(this.clock.now()).toISOString(),
          });
      }
      const fleetDeps = {
        db,
        clock: this.clock,
        nodeId,
        redis: redis?.client ?? null,
        seal,
        logger: this.logger,
        epoch,
        checkIntervalMs: this.options.fleet?.checkIntervalMs,
      };
      // Signing keys derive from the secret store's `oauth-signing` (the fleet secret's in a fleet): docs/oauth.md.
      const oauth = new OAuthServer({
        db,
        keys,
        throttle,
        clock: this.clock,
        root: (fleetSecrets ?? secrets).get('oauth-signing'),
        ...(this.options.oauth === undefined ? {} : { options: this.options.oauth }),
        ...(redis === null ? {} : { spend: refreshSpender(redis.client) }),
      });
      // A grant that ends (here, or as its record arrives from another node) closes the sockets its tokens opened.
      oauth.grants.onRevoked((grant) =>
        bus.publish('auth.revoked', { keyId: null, sessionId: `oauth:${grant.id}`, allSessions: false, reason: 'token-revoked' }),
      );
      if (fleetSecrets !== null && trail !== null) {
        for (const table of identityTables(fleetDeps, { keys, sessions, secrets: fleetSecrets, trail, bus, oauth }))
          await this.#startService(table);
      }
      const authenticator = new Authenticator(keys, sessions, throttle, oauth);
      // Built before the hub: its frames spend the same budgets as HTTP requests.
      const tiers = new TierStore(db);
      const rateLimits = new RateLimits(redis?.client ?? null, this.clock);
      const { node, ...realtimeOptions } = this.options.realtime ?? {};
      const realtimeConfig = config.realtime ?? {};
      const realtime = new RealtimeHub({
        authenticator,
        bus,
        db,
        redis: redis?.client ?? null,
        seal,
        clock: this.clock,
        logger: this.logger.child({ component: 'realtime' }),
        options: {
          rooms: withRoomRules(realtimeConfig.rooms ?? []),
          ...(realtimeConfig.maxSubscriptions === undefined ? {} : { maxSubscriptions: realtimeConfig.maxSubscriptions }),
          ...realtimeOptions,
        },
        node: node ?? nodeId,
        budget: callerBudget(rateLimits, tiers),
      });
      const progress = new LiveProgress(realtime);
      await this.#startService(realtime);
      // Sockets that stay open through an emptied Redis are told their rooms' epochs are gone.
      epoch?.onEmptied(() => realtime.recheckEpochs());
      const monitoring = new Monitoring({
        db,
        redis: redis?.client ?? null,
        bus,
        clock: this.clock,
        logger: this.logger.child({ component: 'monitoring' }),
        metrics,
        dataDir: config.dataDir,
        options: { retention: { hourMs: kept.metricHourMs }, usageRetentionMs: kept.usageMs, ...this.options.monitoring },
      });
      const cache = new TieredCache({
        db,
        redis: redis?.client ?? null,
        seal,
        clock: this.clock,
        logger: this.logger.child({ component: 'cache' }),
        events: bus,
        options: { nodeId },
      });
      registerCacheMetrics(metrics.registry, cache);
      await this.#startService(cache);
      const batch = createBatchCapability({
        db,
        clock: this.clock,
        logger: this.logger,
        bus,
        redis: redis?.client ?? null,
        nodeId,
        epoch,
        seal,
        jobHistory: kept.batch.jobs,
        batchKeepMs: kept.batch.batchMs,
        ...(this.options.fleet?.jobs !== undefined ? { bullmq: this.options.fleet.jobs } : {}),
      });
      // Before the queue starts: its workers serve the saga job type from the first poll.
      const sagas = new Sagas({
        db,
        clock: this.clock,
        queue: batch.queue,
        bus,
        logger: this.logger.child({ component: 'sagas' }),
        fleet: redis === null || seal === null ? null : { redis: redis.client, seal, epoch },
      });
      for (const service of batch.services) await this.#startService(service);
      const discovery = buildDiscovery({
        db,
        clock: this.clock,
        bus,
        audit,
        logger: this.logger.child({ component: 'discovery' }),
        lanAccess: config.lanAccess,
        version: pilothouseVersion,
        httpPort: () => this.running.http.address.port,
        redis: redis?.client ?? null,
        allowedTargets: config.discovery?.allowedTargets,
        redisTarget: redisAddressOf(config.redisUrl),
        redisSentinels: sentinelAddresses(config),
        seal,
        ...this.options.discovery,
        redisSync: { nodeId, ...this.options.discovery?.redisSync },
        node: { id: nodeId, scheme: () => (this.tls === null ? 'http' : 'https') },
      });
      await this.#startService(discovery.service);
      const tables = fleetTables(fleetDeps, monitoring, discovery);
      await this.#startService(tables.alertRules);
      await this.#startService(tables.alertSilences);
      await this.#startService(tables.servicePolicies);

      const pickedRoots = new PickedRoots(config.dataDir);
      // Peer replicas need only the fleet secret, not Redis: two nodes can back each other up without one.
      const peerSeal =
        seal ??
        (config.fleetSecret === undefined
          ? null
          : new FleetSeal({ secret: config.fleetSecret, nodeId, clock: this.clock, registry: metrics.registry }));
      const backup = new BackupService({
        db,
        appDbPath: this.store.path,
        roots: backupRoots(config),
        pickedRoots,
        repoDir: join(config.dataDir, 'backups'),
        keyFile: join(config.dataDir, 'secrets', 'backup-repository.key'),
        ...(process.env.PILOTHOUSE_BACKUP_PASSPHRASE ? { passphrase: process.env.PILOTHOUSE_BACKUP_PASSPHRASE } : {}),
        ...(config.backup?.replicaRoots === undefined ? {} : { replicaRoots: config.backup.replicaRoots }),
        ...(config.backup?.replicaAllowCidrs === undefined ? {} : { replicaAllowCidrs: config.backup.replicaAllowCidrs }),
        peerSeal,
        peerUrl: (node) => discovery.lan.nodeUrl(node),
        ...this.options.backup,
        ownHttpPort: () => (this.#running?.http.status().state === 'running' ? this.#running.http.address.port : config.port || null),
        redisTarget: redisAddressOf(config.redisUrl),
        clock: this.clock,
        logger: this.logger.child({ component: 'backup' }),
        bus,
        audit: (record) => audit.append(record),
      });
      await this.#startService(backup);
      const catalogueShare =
        redis === null || seal === null
          ? null
          : new CatalogueShare(redis.client, nodeId, backup, this.logger.child({ component: 'backup-share' }), seal);
      if (catalogueShare !== null) {
        backup.catalogue.onChange(() => catalogueShare.changed());
        catalogueShare.changed();
      }
      // A snapshot runs on its source's node: a cancel asked of this node for another's is sent there.
      const snapshotCancels =
        redis === null || seal === null || catalogueShare === null
          ? null
          : new SnapshotCancelRelay({
              redis: redis.client,
              seal,
              logger: this.logger.child({ component: 'backup-cancels' }),
              local: (sourceId, by) => backup.cancelSnapshot(sourceId, by),
              isLocal: (sourceId) =>
                backup.catalogue.source(sourceId) !== undefined ||
                backup.running().some((p) => p.kind === 'snapshot' && p.sourceId === sourceId),
              ownerOf: (sourceId) => catalogueShare.ownerOfSource(sourceId),
            });
      if (snapshotCancels !== null) await this.#startService(snapshotCancels);
      // The job types other capabilities lend the engine (batch.apply is the engine's own).
      registerCacheJobs(batch.queue, cache);
      registerBackupJobs(batch.queue, backup, catalogueShare, nodeId);
      // Registered last, so the queue has re-enqueued its jobs before this says the node recovered.
      epoch?.onEmptied(async (e) => {
        const instances = (await discovery.sync?.republish()) ?? 0;
        if (catalogueShare !== null) await catalogueShare.publish();
        backup.syncSchedules(); // the repeating snapshot jobs were in the Redis that emptied
        bus.publish('fleet.redis', {
          kind: 'emptied',
          code: null,
          message: `Redis came back empty (epoch ${e.previousEpoch} → ${e.epoch}); this node re-published ${instances} registry instances, its backup catalogue and schedules, alert rules, balancing policies, batch reports, job results and the sagas it took part in, and re-enqueued the jobs it had queued`,
          node: nodeId,
          at: new Date(e.at).toISOString(),
        });
      });
      const webhooks = new WebhookService({
        db,
        dataDir: config.dataDir,
        queue: batch.queue,
        bus,
        clock: this.clock,
        logger: this.logger.child({ component: 'webhooks' }),
        ownPort: () => (this.#running?.http.status().state === 'running' ? this.#running.http.address.port : config.port || null),
        redisTarget: redisAddressOf(config.redisUrl),
        redisSentinels: sentinelAddresses(config),
        redis: redis?.client ?? null,
        seal,
        secretKey: fleetSecrets?.encryptionKey('webhook-secrets') ?? null,
        audit: (record) => audit.append(record),
        options: {
          retentionMs: kept.webhookDeliveryMs,
          ...(config.webhooks?.allowCidrs !== undefined ? { allowCidrs: config.webhooks.allowCidrs } : {}),
          ...(config.webhooks?.retryWindowHours !== undefined ? { retryWindowMs: config.webhooks.retryWindowHours * 3_600_000 } : {}),
          ...this.options.webhooks,
        },
      });
      await this.#startService(webhooks);
      const webhookTable = webhookTables(fleetDeps, webhooks);
      await this.#startService(webhookTable.endpoints);
      const maintenance = buildMaintenance({
        settings: kept,
        dataDir: config.dataDir,
        db,
        dbPath: this.store.path,
        clock: this.clock,
        logger: this.logger,
        audit,
        auditKey: secrets.get('audit-hmac'),
        auditNode: fleetSecrets === null ? null : nodeId,
        monitoring,
        webhooks,
        realtime: realtimeOptions,
      });
      maintenance.register(batch.queue);
      const tierTables = rateLimitTables(fleetDeps, tiers);
      await this.#startService(tierTables.tiers);
      await this.#startService(tierTables.keyTiers);
      const graphql = new GraphqlApi({
        db,
        clock: this.clock,
        authenticator,
        events: (listener) => realtime.subscribeEvents(listener),
        rooms: (caller, room, listener) => realtime.followRoom(caller, room, listener),
        charge: callerCharge(rateLimits, tiers),
        limits: config.graphql,
        logger: this.logger.child({ component: 'graphql' }),
      });
      for (const table of graphqlTables(fleetDeps, graphql.persisted)) await this.#startService(table);
      const handlers: OperationHandlers = {
        ...systemHandlers(
          () => this.status(),
          this.loaded,
          () => maintenance.view(),
        ),
        ...securityHandlers({ keys, audit, sessions, bus, now: () => this.clock.now(), trail, oauth }),
        ...monitoringHandlers(monitoring, () => this.clock.now()),
        ...backupHandlers(backup, catalogueShare, snapshotCancels),
        ...realtimeHandlers(realtime),
        ...cacheHandlers(cache),
        ...batchHandlers(batch),
        ...sagaHandlers(sagas),
        ...discovery.handlers,
        ...webhooksHandlers(webhooks),
        ...ratelimitHandlers({
          tiers,
          limits: rateLimits,
          keys,
          refusedByKey: () => monitoring.usage.refusedByKey(this.clock.now() - 24 * 3_600_000, this.clock.now() + 60_000),
        }),
        ...graphql.handlers,
      };
      const dispatcher = new OperationDispatcher(handlers, audit, monitoring.observeOperation, {
        count: (call) => {
          auditCounts.count(call);
          monitoring.usage.countOperation(call.keyId, call.action, call.outcome === 'error');
        },
      });
      // Built-in saga types act through the operations, as Pilothouse itself.
      const asPilothouse: CallOperation = (name, input) => dispatcher.call(name, input, systemCaller) as Promise<never>;
      sagas.register(shiftTrafficSaga(asPilothouse)).register(restoreAndWarmSaga(asPilothouse));
      const graphqlTransports = graphql.transports(dispatcher);
      this.tls = await loadTls(tlsMode(config), config.dataDir, { bindHost: config.host, publicNames: config.publicNames ?? [] });
      if (this.tls !== null) {
        const { fingerprint256, certFile, selfSigned, validTo } = this.tls;
        this.logger.info(
          { fingerprint256, certFile, selfSigned, validTo },
          'TLS on: HTTPS and WSS; compare or pin the SHA-256 fingerprint',
        );
      } else if (config.lanAccess) {
        this.logger.warn('LAN access over plain HTTP (--insecure-lan): API keys and session tokens cross the network in clear text');
      }
      const http = new HttpServer({
        host: config.host,
        publicNames: config.publicNames ?? [],
        tls: this.tls,
        port: config.port,
        bodyIdleTimeoutMs: config.bodyIdleTimeoutMs,
        version: pilothouseVersion,
        consoleDir: config.consoleDir ?? defaultConsoleDir(),
        logger: this.logger,
        metrics,
        authenticator,
        sessions,
        oauth,
        dispatcher,
        bus,
        readiness: () => this.readiness(),
        websocket: upgradesByPath({ '/ws': realtime, '/graphql': graphqlTransports.sockets }),
      });
      monitoring.instrument(http.app);
      installRateLimit(http.app, rateLimits, tiers);
      monitoring.health.register({
        name: 'ratelimit',
        critical: false,
        check: () => {
          const backend = rateLimits.backend();
          return backend === 'memory (Redis unreachable)'
            ? { status: 'degraded', detail: 'Redis is unreachable: each node counts on its own until it is back' }
            : { status: 'up', detail: `counting in ${backend}` };
        },
      });
      monitoring.series.register({
        name: 'webhooks.endpoints.disabled',
        unit: 'count',
        help: 'Webhook endpoints turned off (a 410, or failing for the whole retry window)',
        read: () => webhooks.endpoints.countDisabled(),
      });
      monitoring.series.register({
        name: 'backup.replica_lag_snapshots',
        unit: 'count',
        help: 'Snapshots the most lagging replica of the backup repository lacks (none without replicas)',
        read: () => backup.replicas.maxLag()?.snapshots ?? null,
      });
      monitoring.series.register({
        name: 'backup.replica_lag_bytes',
        unit: 'bytes',
        help: 'Bytes the most lagging replica of the backup repository lacks',
        read: () => backup.replicas.maxLag()?.bytes ?? null,
      });
      monitoring.series.register({
        name: 'ws.connections',
        unit: 'count',
        help: 'Real-time hub connections (console and LAN programs)',
        read: () => realtime.connectionCount,
      });
      for (const series of cacheSeries(cache)) monitoring.series.register(series);
      for (const series of discovery.series()) monitoring.series.register(series);
      this.#running = {
        dispatcher,
        bus,
        keys,
        audit,
        secrets,
        sessions,
        oauth,
        http,
        redis,
        epoch,
        metrics,
        monitoring,
        discovery,
        batch,
        sagas,
        realtime,
        progress,
        cache,
        backup,
        pickedRoots,
        webhooks,
        tiers,
        rateLimits,
        maintenance,
      };
      void http.app.register(discovery.gateway);
      void http.app.register(graphqlTransports.http);
      void http.app.register(
        peerReplicaRoutes({
          inbox: new PeerInbox(
            join(config.dataDir, 'peer-replicas'),
            config.backup?.peerSenders ?? [],
            config.backup?.peerQuotaMiB === undefined ? null : config.backup.peerQuotaMiB * 1024 * 1024,
          ),
          seal: peerSeal,
          audit,
        }),
      );
      await this.#startService(monitoring);
      await this.#startService(http);
      if (config.lanAccess) await this.#startService(discovery.lan);

      await epoch?.watch();
      if (this.options.mode === 'headless') {
        const fleet = redis === null ? undefined : fleetBootstrap(redis.client, nodeId, () => keys.count() > 0);
        this.adminKeyFile = await bootstrapAdminKey(config.dataDir, keys, audit, fleet);
      }
      // Not fatal: a queue that cannot take it now (Redis away) gets it at the next start.
      await maintenance.schedule(batch.queue, nodeId).catch((err: unknown) => this.logger.warn({ err }, 'maintenance not scheduled'));
      this.#publisher = new StatusPublisher(bus, () => this.status());
      this.#publisher.start();
      this.logger.info({ url: this.url, dataDir: config.dataDir }, 'pilothouse started');
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /** Stops services in reverse order; one that overruns the deadline is left behind, not waited on. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stopAll();
    return this.#stopping;
  }

  async #stopAll(): Promise<void> {
    const deadline = this.clock.now() + this.loaded.config.shutdownDeadlineMs;
    this.#publisher?.stop();
    const order = [...this.#started].reverse();
    for (const [index, service] of order.entries()) {
      // Each service gets its share of what is left, so one slow stop cannot leave the rest 0 ms; the
      // HTTP server, first to stop and draining requests that wait on the others, may take half.
      const remaining = Math.max(0, deadline - this.clock.now());
      const left = service instanceof HttpServer ? remaining / 2 : remaining / (order.length - index);
      let timer: NodeJS.Timeout | undefined;
      const overran = await Promise.race([
        service.stop().then(
          () => false,
          (err: unknown) => {
            this.logger.error({ err, service: service.name }, 'service failed to stop cleanly');
            return false;
          },
        ),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), left);
        }),
      ]);
      clearTimeout(timer);
      if (overran) {
        this.logger.warn({ service: service.name }, 'service did not stop within the deadline');
        if (service instanceof HttpServer) service.forceClose();
      }
    }
    this.#started = [];
  }

  status(): SystemStatus {
    const services = this.#services.map((s) => ({ name: s.name, ...s.status() }));
    const redis = this.#running?.redis ?? null;
    return {
      version: pilothouseVersion,
      startedAt: new Date(this.#startedAt).toISOString(),
      uptimeSeconds: Math.max(0, (this.clock.now() - this.#startedAt) / 1000),
      mode: this.options.mode,
      services,
      redis: {
        configured: redis !== null,
        connected: redis?.connected ?? false,
        status: redis === null ? 'not configured' : redis.client.status,
      },
      tls: { enabled: this.tls !== null, selfSigned: this.tls?.selfSigned ?? false, fingerprint256: this.tls?.fingerprint256 ?? null },
    };
  }

  /** Ready when every service runs; an optional dependency that is down (Redis) makes it degraded, not unready. */
  readiness(): ReadinessReport {
    const { services } = this.status();
    const monitoring = this.#running?.monitoring;
    const dependencies = monitoring?.health.list() ?? [];
    const servicesUp = services.every((s) => s.state === 'running' || s.state === 'degraded');
    return { ready: servicesUp && monitoring?.health.overall() !== 'down', services, dependencies };
  }

  #logAuditFindings(report: AuditStartReport): void {
    if (report.restoredTriggers.length > 0) {
      this.logger.warn({ triggers: report.restoredTriggers }, 'audit log: append-only triggers were missing or changed; re-created');
    }
    if (report.headLost !== null) this.logger.error({ head: report.headLost }, 'audit log: the chain head file is gone or not ours');
    if (report.truncatedFrom !== null) {
      this.logger.error({ from: report.truncatedFrom }, 'audit log: rows the chain head vouched for are gone; see audit.verify');
    }
  }

  async #startService(service: Service): Promise<void> {
    if (!this.#services.includes(service)) this.#services.push(service);
    await service.start();
    this.#started.push(service);
  }
}

/**
 * The built console is `out/renderer`. Bundled, this file sits somewhere under `out/main`; from
 * source (tests, tsx) under `main/`. Walk up to whichever `out/` holds a built `renderer/index.html`.
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

/** The `--redis-sentinels` addresses: never a health check's, the gateway's or a webhook's target. */
function sentinelAddresses(config: Config): { host: string; port: number }[] {
  return redisTarget(config)?.sentinels?.map((s) => ({ host: s.host ?? '', port: s.port ?? 26379 })) ?? [];
}

/** Where the node's Redis listens, which checks and the gateway must never reach. */
function redisAddressOf(url: string | undefined): { host: string; port: number } | null {
  if (url === undefined || !URL.canParse(url)) return null;
  const parsed = new URL(url);
  return { host: parsed.hostname.replace(/^\[|\]$/g, ''), port: Number(parsed.port || 6379) };
}
