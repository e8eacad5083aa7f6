import type { Database } from 'better-sqlite3';
import type { HostLookup } from '../security';
import type { Clock } from '../clock';
import type { AuditRecord } from '../core';
import type { EventBus } from '../events';
import type { FleetSeal } from '../fleet';
import type { Logger } from '../logger';
import type { RunJob } from './backup-progress';
import type { BackupCatalogue } from './catalogue';
import type { PageRepository } from './page-repository';
import type { PageWorkers } from './page-workers';
import type { BackupPathPolicy } from './path-policy';
import type { PickedRoots } from './picked-roots';
import type { RepoLock } from './repo-lock';
import type { SnapshotPins } from './restore-flow';
import type { Retention } from './types';

export interface BackupServiceOptions {
  /** The app's store: the catalogue lives here, and it is itself the `app` source. */
  readonly db: Database;
  readonly appDbPath: string;
  /** `backup.roots`: folders under which sources may be registered and restores written (see BackupPathPolicy). */
  readonly roots: readonly string[];
  /** Folders the desktop user picked in the console, roots on this node besides `roots` (desktop only). */
  readonly pickedRoots?: PickedRoots;
  /** The repository folder (packs, manifests, index). */
  readonly repoDir: string;
  /** The node's data directory: what Pilothouse keeps there is never a source or a restore target (BackupPathPolicy). */
  readonly dataDir?: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly bus?: EventBus | null;
  /** Records scheduled work (no operator call behind it) in the audit log. */
  readonly audit?: (record: AuditRecord) => void;
  /** Page worker threads. Default: cores − 1, 1–4; snapshots use one fewer than the pool, at least 1 (see PageWorkers). */
  readonly workers?: number;
  /** Brotli quality for page blobs. Default 1. */
  readonly compressionLevel?: number;
  /** A pack is closed past this many bytes (default 64 MiB): also the unit a replica transfer resumes at. */
  readonly packTargetBytes?: number;
  /** How long a locked source may block a snapshot. Default 5000 ms. */
  readonly busyTimeoutMs?: number;
  /** Schedule and retention of the app's own database. Defaults: daily at 03:00, 7 daily + 4 weekly. */
  readonly appSchedule?: string | null;
  readonly appRetention?: Retention;
  /** Prune plus the rolling verify of a seventh of the snapshots. Default daily at 04:15; null turns it off. */
  readonly maintenanceSchedule?: string | null;
  /** Share of snapshots the rolling verify checks each run. Default 1/7, so all of them within a week. */
  readonly rollingVerifyShare?: number;
  /**
   * Pacing of background snapshots (scheduled, continuous, missed): idle time per unit of busy time
   * between chunks. Default 1 (about twice as long, about half the CPU, so a busy writer on the
   * source keeps its latency). Manual and pre-restore snapshots, which someone waits on, are not paced.
   */
  readonly backgroundSnapshotPace?: number;
  /**
   * Encrypt the repository (default true): pages and manifests sealed with AES-256-GCM, pages
   * addressed by HMAC. A plain repository is migrated in place at start. False only keeps a new
   * repository plain (benchmarks' baseline); a repository with a key file stays encrypted.
   */
  readonly encryption?: boolean;
  /** The master key's 0600 file. Default `<repoDir>/../secrets/backup-repository.key` (the data directory's secrets). */
  readonly keyFile?: string;
  /** Unwraps a passphrase-wrapped key at start (`PILOTHOUSE_BACKUP_PASSPHRASE`); without it the service starts locked. */
  readonly passphrase?: string;
  /** Folders a folder replica may be in (`backup.replicaRoots`). Default: `roots`. */
  readonly replicaRoots?: readonly string[];
  /** CIDRs S3 and SFTP replicas may reach beyond loopback and the private ranges (`backup.replicaAllowCidrs`). */
  readonly replicaAllowCidrs?: readonly string[];
  /** Signs requests to peer replicas (another node of the fleet); absent: no peer replicas from this node. */
  readonly peerSeal?: FleetSeal | null;
  /** A node's base URL from the fleet's LAN discovery, for a peer replica named by node id only. */
  readonly peerUrl?: (node: string) => string | null;
  /** The node's HTTP port and Redis, never replica destinations. */
  readonly ownHttpPort?: () => number | null;
  readonly redisTarget?: { host: string; port: number } | null;
  /** Name resolution for replica hosts (tests answer as a rebinding DNS server would). */
  readonly replicaLookup?: HostLookup;
}

/** What the service's parts (snapshot, verify, sources, restore) share: the service hands them its own. */
export interface BackupParts {
  readonly repo: PageRepository;
  readonly workers: PageWorkers;
  readonly catalogue: BackupCatalogue;
  readonly paths: BackupPathPolicy;
  readonly options: BackupServiceOptions;
}

/** The parts plus what work on the repository runs under: the service's lock, its pins and its job runner. */
export interface BackupWork extends BackupParts {
  readonly lock: RepoLock;
  readonly pins: SnapshotPins;
  readonly job: RunJob;
}
