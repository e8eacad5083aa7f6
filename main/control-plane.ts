/**
 * The composition root: builds every capability in dependency order, wires them to each other and to
 * the fleet, and stops them in reverse. `start()` reads as the start order and the links between
 * capabilities; each capability's wiring is a step in main/plane/, its own setup in its folder.
 */
import { mkdirSync } from 'node:fs';
import { PhError } from '../contract';
import { registerBackupJobs } from './backup';
import { registerCacheJobs } from './cache';
import { monotonicClock, systemClock, type Clock } from './clock';
import type { LoadedConfig } from './config';
import { loadNodeId } from './fleet';
import { fleetBootstrap } from './fleet-tables';
import type { ReadinessReport, TlsMaterial } from './http';
import { createLogger, type Logger } from './logger';
import { buildMaintenance, retentionSettings } from './maintenance-plan';
import {
  ServiceOrder,
  announceRecovery,
  buildHttp,
  buildMonitoring,
  installRoutes,
  linkFleet,
  loadServerTls,
  migrations,
  registerPlaneHealth,
  wireBackup,
  wireBatch,
  wireCache,
  wireDiscovery,
  wireFleet,
  wireGraphql,
  wireOperations,
  wireRealtime,
  wireSecurity,
  wireSignIn,
  wireWebhooks,
  type ControlPlaneOptions,
  type RunningPlane,
  type Wiring,
} from './plane';
import { rateLimitTables } from './ratelimit';
import { redisTarget } from './redis';
import { bootstrapAdminKey, hardenDataDir } from './security';
import { DataDirLock, StoreService } from './store';
import { StatusPublisher, type SystemStatus } from './system';
import { pilothouseVersion } from './version';

export { migrations, type ControlPlaneOptions, type RunningPlane };

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
  /** Every service this start built, in start order, for status; stopped in reverse. */
  readonly #order: ServiceOrder;
  #publisher: StatusPublisher | null = null;
  #startedAt = 0;
  #stopping: Promise<void> | null = null;
  readonly #lock: DataDirLock;

  constructor(
    readonly loaded: LoadedConfig,
    private readonly options: ControlPlaneOptions,
  ) {
    this.logger = options.logger ?? createLogger(loaded.config.logLevel);
    this.clock = options.clock ?? systemClock;
    this.store = new StoreService(loaded.config.dataDir, migrations);
    this.#lock = new DataDirLock(loaded.config.dataDir);
    this.#order = new ServiceOrder(this.clock, this.logger);
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
      // Before anything reads or cleans the directory: a second process must not touch a live node's files.
      this.#lock.acquire();
      await this.#order.start(this.store);
      // What a migration deleted (a secret an earlier version kept) must leave the main file too, not linger until a checkpoint.
      this.store.db.pragma('wal_checkpoint(TRUNCATE)');
      hardenDataDir(config.dataDir, this.logger);
      this.nodeId = this.options.realtime?.node ?? loadNodeId(config.dataDir);
      const nodeId = this.nodeId;
      const w: Wiring = {
        config,
        options: this.options,
        kept,
        clock: this.clock,
        durations: this.options.clock ?? monotonicClock,
        logger: this.logger,
        store: this.store,
        db: this.store.db,
        nodeId,
        start: (service) => this.#order.start(service),
      };
      // Read once (it reads the CA file): the fleet's keys and the connection both go by it.
      const target = redisTarget(config);
      // Before anything is keyed by the fleet secret (audit rows, workers): it must be the running fleet's.
      const link = await linkFleet(w, target);
      const security = await wireSecurity(w, target);
      const { keys, audit, secrets, sessions, bus, metrics, fleetSecrets } = security;
      const fleet = await wireFleet(w, link, bus, metrics);
      const { redis, epoch } = fleet;
      const { oauth, authenticator } = await wireSignIn(w, security, redis, fleet.fleetDeps);
      const { tiers, rateLimits, realtime, progress, hubOptions } = await wireRealtime(w, { authenticator, bus, fleet });
      const monitoring = buildMonitoring(w, { redis, bus, metrics });
      const cache = await wireCache(w, { bus, metrics, fleet });
      const { batch, sagas } = await wireBatch(w, { bus, fleet });
      const discovery = await wireDiscovery(w, {
        bus,
        audit,
        fleet,
        monitoring,
        httpPort: () => this.running.http.address.port,
        scheme: () => (this.tls === null ? 'http' : 'https'),
      });
      const ownPort = (): number | null => this.#ownPort();
      const { backup, pickedRoots, peerSeal, catalogueShare, snapshotCancels } = await wireBackup(w, {
        bus,
        audit,
        metrics,
        fleet,
        discovery,
        ownPort,
      });
      // The job types other capabilities lend the engine (batch.apply is the engine's own).
      registerCacheJobs(batch.queue, cache);
      registerBackupJobs(batch.queue, backup, catalogueShare, nodeId);
      // Registered last, so the queue has re-enqueued its jobs before this says the node recovered.
      announceRecovery(epoch, { bus, nodeId, discovery, backup, catalogueShare });
      const webhooks = await wireWebhooks(w, { bus, audit, fleetSecrets, fleet, batch, ownPort });
      const maintenance = buildMaintenance({
        settings: kept,
        dataDir: config.dataDir,
        db: this.store.db,
        dbPath: this.store.path,
        clock: this.clock,
        logger: this.logger,
        audit,
        auditKey: secrets.get('audit-hmac'),
        auditNode: fleetSecrets === null ? null : nodeId,
        monitoring,
        webhooks,
        realtime: hubOptions,
      });
      maintenance.register(batch.queue);
      const tierTables = rateLimitTables(fleet.fleetDeps, tiers);
      await w.start(tierTables.tiers);
      await w.start(tierTables.keyTiers);
      const graphql = await wireGraphql(w, { authenticator, realtime, rateLimits, tiers, fleet });
      const dispatcher = wireOperations({
        clock: this.clock,
        loaded: this.loaded,
        status: () => this.status(),
        maintenance,
        keys,
        audit,
        auditCounts: security.auditCounts,
        sessions,
        bus,
        trail: security.trail,
        oauth,
        monitoring,
        backup,
        catalogueShare,
        snapshotCancels,
        realtime,
        cache,
        batch,
        sagas,
        discovery,
        webhooks,
        tiers,
        rateLimits,
        graphql,
      });
      const graphqlTransports = graphql.transports(dispatcher);
      this.tls = await loadServerTls(w);
      const http = buildHttp(w, {
        tls: this.tls,
        metrics,
        monitoring,
        authenticator,
        sessions,
        oauth,
        dispatcher,
        bus,
        readiness: () => this.readiness(),
        realtime,
        graphql: graphqlTransports,
        rateLimits,
        tiers,
      });
      registerPlaneHealth(monitoring, { rateLimits, webhooks, backup, realtime, cache, discovery, jobs: batch.queue, fleet });
      this.#running = {
        dispatcher,
        bus,
        keys,
        audit,
        auditCounts: security.auditCounts,
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
      installRoutes(w, http, { discovery, graphql: graphqlTransports, peerSeal, audit });
      await w.start(monitoring);
      await w.start(http);
      if (config.lanAccess) await w.start(discovery.lan);

      await epoch?.watch();
      if (this.options.mode === 'headless') {
        const fleetClaim = redis === null ? undefined : fleetBootstrap(redis.client, nodeId, () => keys.count() > 0);
        this.adminKeyFile = await bootstrapAdminKey(config.dataDir, keys, audit, fleetClaim);
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
    await this.#order.stopAll(deadline);
    this.#lock.release();
  }

  status(): SystemStatus {
    const services = this.#order.services.map((s) => ({ name: s.name, ...s.status() }));
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

  /** The port this node's HTTP server answers on, or the configured one before it runs (null for "any"). */
  #ownPort(): number | null {
    return this.#running?.http.status().state === 'running' ? this.#running.http.address.port : this.loaded.config.port || null;
  }
}
