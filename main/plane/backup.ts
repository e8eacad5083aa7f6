/** The backup manager's wiring: the repository, its replicas and peers, and the catalogue a fleet shares. */
import { join } from 'node:path';
import { DATA_DIR } from '../core';
import { BackupService, CatalogueShare, PickedRoots, SnapshotCancelRelay } from '../backup';
import { backupRoots } from '../config';
import type { Discovery } from '../discovery';
import type { EventBus } from '../events';
import { FleetSeal } from '../fleet';
import type { Metrics } from '../monitoring';
import type { AuditLog } from '../security';
import type { FleetWiring } from './fleet';
import { redisAddressOf } from './redis-addresses';
import type { Wiring } from './wiring';

export interface BackupWiring {
  readonly backup: BackupService;
  readonly pickedRoots: PickedRoots;
  /** Seals what peer replicas exchange; null without a fleet secret. */
  readonly peerSeal: FleetSeal | null;
  /** Shares the backup catalogue through Redis; null without Redis. */
  readonly catalogueShare: CatalogueShare | null;
  /** Sends a cancel for another node's snapshot to that node; null without Redis. */
  readonly snapshotCancels: SnapshotCancelRelay | null;
}

export interface BackupLinks {
  readonly bus: EventBus;
  readonly audit: AuditLog;
  readonly metrics: Metrics;
  readonly fleet: FleetWiring;
  readonly discovery: Discovery;
  /** The port this node's HTTP server answers on, or the configured one before it runs (null for "any"). */
  readonly ownPort: () => number | null;
}

export async function wireBackup(w: Wiring, deps: BackupLinks): Promise<BackupWiring> {
  const { config, clock, nodeId } = w;
  const { redis, seal } = deps.fleet;
  const pickedRoots = new PickedRoots(config.dataDir);
  // Peer replicas need only the fleet secret, not Redis: two nodes can back each other up without one.
  const peerSeal =
    seal ??
    (config.fleetSecret === undefined
      ? null
      : new FleetSeal({ secret: config.fleetSecret, nodeId, clock, registry: deps.metrics.registry }));
  const backup = new BackupService({
    db: w.db,
    appDbPath: w.store.path,
    roots: backupRoots(config),
    pickedRoots,
    repoDir: join(config.dataDir, DATA_DIR.backups),
    dataDir: config.dataDir,
    keyFile: join(config.dataDir, DATA_DIR.secrets, 'backup-repository.key'),
    ...(process.env.PILOTHOUSE_BACKUP_PASSPHRASE ? { passphrase: process.env.PILOTHOUSE_BACKUP_PASSPHRASE } : {}),
    ...(config.backup?.replicaRoots === undefined ? {} : { replicaRoots: config.backup.replicaRoots }),
    ...(config.backup?.replicaAllowCidrs === undefined ? {} : { replicaAllowCidrs: config.backup.replicaAllowCidrs }),
    peerSeal,
    peerUrl: (node) => deps.discovery.lan.nodeUrl(node),
    ...w.options.backup,
    ownHttpPort: deps.ownPort,
    redisTarget: redisAddressOf(config.redisUrl),
    clock,
    logger: w.logger.child({ component: 'backup' }),
    bus: deps.bus,
    audit: (record) => deps.audit.append(record),
  });
  await w.start(backup);
  const catalogueShare =
    redis === null || seal === null
      ? null
      : new CatalogueShare(redis.client, nodeId, backup, w.logger.child({ component: 'backup-share' }), seal);
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
          logger: w.logger.child({ component: 'backup-cancels' }),
          local: (sourceId, by) => backup.cancelSnapshot(sourceId, by),
          isLocal: (sourceId) =>
            backup.catalogue.source(sourceId) !== undefined ||
            backup.running().some((p) => p.kind === 'snapshot' && p.sourceId === sourceId),
          ownerOf: (sourceId) => catalogueShare.ownerOfSource(sourceId),
        });
  if (snapshotCancels !== null) await w.start(snapshotCancels);
  return { backup, pickedRoots, peerSeal, catalogueShare, snapshotCancels };
}
