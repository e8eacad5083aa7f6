import { realpathSync, statSync } from 'node:fs';
import { isAbsolute, relative, sep } from 'node:path';
import { PhError } from '../../contract/errors';
import { defaultAllowedTargets, OutboundReach, type HostLookup } from '../security';
import { messageOf } from './backup-faults';
import type { PageRepository } from './page-repository';
import type { FleetSeal } from '../fleet';
import { hasUnsafeChars } from './path-policy';
import { PeerTransport } from './replica-peer';
import { type ReplicaStore, type ReplicaKind, type ReplicaRecord, type ReplicaSecrets, type ReplicaTarget } from './replica-store';
import {
  lagOf,
  localFiles,
  pullReplica,
  sized,
  pushReplica,
  verifyReplica,
  type PullResult,
  type ReplicaVerification,
} from './replica-sync';
import { FolderTransport, type ReplicaTransport } from './replica-transport';
import type { LockMode } from './repo-lock';

export interface NewReplica extends ReplicaTarget, ReplicaSecrets {
  readonly name: string;
  readonly kind: ReplicaKind;
}

export interface ReplicaView extends ReplicaRecord {
  /** The transfer running now: bytes done of total. */
  readonly transfer: { readonly done: number; readonly total: number; readonly direction: 'push' | 'pull' } | null;
}

export interface ReplicaManagerDeps {
  readonly repo: () => PageRepository;
  readonly store: ReplicaStore;
  readonly lock: <T>(mode: LockMode, fn: () => Promise<T>) => Promise<T>;
  readonly now: () => number;
  /** Folders a folder replica may be in (default: the backup roots). */
  readonly folderRoots: readonly string[];
  /** CIDRs beyond loopback and the private ranges that S3 and SFTP replicas may reach (`backup.replicaAllowCidrs`). */
  readonly allowCidrs: readonly string[];
  readonly ownHttpPort: () => number | null;
  readonly redis: { host: string; port: number } | null;
  readonly lookup?: HostLookup;
  /** Signs requests to peer replicas (the fleet secret); null: no peer replicas from this node. */
  readonly peerSeal: FleetSeal | null;
  /** A node's base URL as LAN discovery last heard it (a peer named by node id only), or null. */
  readonly peerUrl: (node: string) => string | null;
  /** After a pull: the catalogue follows the manifests that arrived. */
  readonly reconcile: () => void;
  /** Records pack files gone from the disk as lost (repository-damage.ts), before a push lists what to send. */
  readonly checkPacks: () => void;
}

/**
 * The repository's replicas (admin-managed, per node): a folder, S3-compatible storage or an SFTP
 * folder, each holding a copy of the repository's files (see replica-sync.ts). Pushes what a replica
 * lacks after each snapshot and on the maintenance schedule, verifies by sampling, and pulls from
 * one to rebuild a lost repository. Every destination passes the outbound-reach policy (or, for a
 * folder, the folder roots) when it is added and again at each connection.
 */
export class ReplicaManager {
  readonly #reach: OutboundReach;
  readonly #transfers = new Map<string, { done: number; total: number; direction: 'push' | 'pull' }>();
  readonly #remote = new Map<string, Map<string, number>>();
  readonly #pushing = new Map<string, Promise<void>>();

  constructor(private readonly deps: ReplicaManagerDeps) {
    this.#reach = new OutboundReach({
      allowed: [...defaultAllowedTargets, ...deps.allowCidrs],
      setting: 'backup.replicaAllowCidrs',
      ownHttpPort: deps.ownHttpPort,
      redis: deps.redis,
      ...(deps.lookup === undefined ? {} : { lookup: deps.lookup }),
      refused: (host, port, why) => new PhError('PH_BACKUP_REPLICA_REFUSED', `${host}:${port}: ${why}`, { details: { host, port } }),
    });
  }

  list(): ReplicaView[] {
    return this.deps.store.list().map((r) => ({ ...r, transfer: this.#transfers.get(r.id) ?? null }));
  }

  get(id: string): ReplicaRecord {
    const r = this.deps.store.get(id);
    if (r === undefined) throw new PhError('PH_BACKUP_REPLICA_NOT_FOUND', `There is no backup replica ${JSON.stringify(id)}`);
    return r;
  }

  /** Checks the target (allowed, reachable, not another repository's) before anything is recorded. */
  async add(input: NewReplica): Promise<ReplicaView> {
    const { target, secrets } = this.#split(input);
    const probe = await this.#transport({ kind: input.kind, target }, secrets);
    let listing: Map<string, number>;
    try {
      listing = await probe.list();
    } catch (err) {
      throw err instanceof PhError
        ? err
        : new PhError('PH_BACKUP_REPLICA_UNREACHABLE', `The replica target did not answer: ${messageOf(err)}`);
    } finally {
      await probe.close();
    }
    // A peer named by its URL alone is pinned to the node that answered.
    const pinned = probe instanceof PeerTransport ? { ...target, node: probe.node ?? undefined } : target;
    const id = this.deps.store.insert(input.name, input.kind, pinned, secrets, this.deps.now());
    // Its lag from the first listing: a new replica is behind by what it lacks, not "up to date" before its first sync.
    // (With the key locked the repository is closed: the lag waits for the first sync.)
    this.#remote.set(id, listing);
    await this.deps.lock('read', () => this.refreshLag()).catch(() => undefined);
    return this.list().find((r) => r.id === id) as ReplicaView;
  }

  remove(id: string): boolean {
    this.get(id);
    return this.deps.store.remove(id);
  }

  /** Pushes to one replica; one push per replica at a time (a second call waits for the running one, then runs). */
  async sync(id: string): Promise<ReplicaView> {
    const prev = this.#pushing.get(id) ?? Promise.resolve();
    const run = prev.catch(() => undefined).then(() => this.#push(id));
    this.#pushing.set(id, run);
    try {
      await run;
    } finally {
      if (this.#pushing.get(id) === run) this.#pushing.delete(id);
    }
    return this.list().find((r) => r.id === id) as ReplicaView;
  }

  /** Every replica, each on its own; failures are recorded on the replica, not thrown. */
  async syncAll(): Promise<void> {
    await Promise.all(this.deps.store.list().map((r) => this.sync(r.id).catch(() => undefined)));
  }

  /** After a snapshot: lag first (from each replica's last listing), then the pushes. */
  async afterSnapshot(): Promise<void> {
    await this.refreshLag();
    await this.syncAll();
  }

  /** Each replica's lag against its last listing; manifests by their size on disk, as a push compares them. */
  async refreshLag(): Promise<void> {
    const repo = this.deps.repo();
    const local = await sized(repo, localFiles(repo));
    for (const r of this.deps.store.list()) {
      const remote = this.#remote.get(r.id);
      if (remote === undefined) continue;
      const lag = lagOf(local, remote);
      this.deps.store.update(r.id, { lag_snapshots: lag.snapshots, lag_bytes: lag.bytes });
    }
  }

  async #push(id: string): Promise<void> {
    const r = this.get(id);
    const t = await this.#transport(r, this.deps.store.secrets(id));
    this.deps.store.update(id, { state: 'syncing' });
    let sent = 0;
    const remote = new Map<string, number>();
    try {
      const result = await this.deps.lock('read', () => {
        // A pack gone from the disk is recorded as lost first: the push then neither sends it nor removes the replica's copy.
        this.deps.checkPacks();
        return pushReplica(
          this.deps.repo(),
          t,
          (done, total) => {
            sent = done;
            this.#transfers.set(id, { done, total, direction: 'push' });
          },
          remote,
        );
      });
      this.#remote.set(id, result.remote);
      const lag = lagOf(result.local, result.remote);
      this.deps.store.update(
        id,
        { state: 'ok', last_sync_at: this.deps.now(), last_error: null, lag_snapshots: lag.snapshots, lag_bytes: lag.bytes },
        result.bytesSent,
      );
    } catch (err) {
      const state = err instanceof PhError && err.code === 'PH_BACKUP_REPLICA_FOREIGN' ? 'foreign' : 'failed';
      this.deps.store.update(id, { state, last_error: messageOf(err) }, sent);
      // What did arrive counts; a replica never listed lags by everything.
      if (remote.size > 0 || !this.#remote.has(id)) this.#remote.set(id, remote);
      await this.refreshLag().catch(() => undefined);
      throw err;
    } finally {
      this.#transfers.delete(id);
      await t.close();
    }
  }

  async verify(id: string, samplePages = 64): Promise<ReplicaVerification> {
    const r = this.get(id);
    const t = await this.#transport(r, this.deps.store.secrets(id));
    try {
      const { v, localPages } = await this.deps.lock('read', async () => {
        const repo = this.deps.repo();
        return {
          v: await verifyReplica(repo, t, samplePages),
          localPages: repo.db.prepare('SELECT 1 FROM pages LIMIT 1').get() !== undefined,
        };
      });
      // A replica that holds none of the pages proves nothing: not "sound".
      const unproven = v.pagesChecked === 0 && localPages;
      const detail = unproven
        ? 'nothing to check: the replica holds none of the pages yet (sync it first)'
        : v.damaged.length === 0
          ? `${v.pagesChecked} pages and ${v.manifestsChecked} manifests sound`
          : `${v.damaged.length} damaged files (${v.damaged.slice(0, 3).join(', ')}), ${v.repaired.length} repaired from the local copy`;
      this.deps.store.update(id, {
        last_verified_at: this.deps.now(),
        last_verify_ok: v.damaged.length === 0 && !unproven ? 1 : 0,
        last_verify_detail: detail,
      });
      return v;
    } finally {
      await t.close();
    }
  }

  async verifyAll(samplePages = 64): Promise<void> {
    for (const r of this.deps.store.list()) await this.verify(r.id, samplePages).catch(() => undefined);
  }

  /** Fetches what the local repository lacks from the replica (all of it, when the local one was lost). */
  async restoreFrom(id: string): Promise<PullResult> {
    const r = this.get(id);
    const t = await this.#transport(r, this.deps.store.secrets(id));
    try {
      const result = await this.deps.lock('prune', async () => {
        const repo = this.deps.repo();
        const pulled = await pullReplica(repo, t, (done, total) => this.#transfers.set(id, { done, total, direction: 'pull' }));
        const keys = repo.keys;
        repo.close();
        repo.open(keys);
        return pulled;
      });
      this.deps.reconcile();
      return result;
    } finally {
      this.#transfers.delete(id);
      await t.close();
    }
  }

  /** The largest lag over the replicas, for the metrics (null without replicas). */
  maxLag(): { snapshots: number; bytes: number } | null {
    const all = this.deps.store.list();
    if (all.length === 0) return null;
    return { snapshots: Math.max(...all.map((r) => r.lagSnapshots)), bytes: Math.max(...all.map((r) => r.lagBytes)) };
  }

  #split(input: NewReplica): { target: ReplicaTarget; secrets: ReplicaSecrets } {
    const { name: _n, kind, secretAccessKey, privateKey, password, apiKey, ...rest } = input;
    const need = (fields: (keyof ReplicaTarget)[]) => {
      for (const f of fields)
        if (rest[f] === undefined) throw new PhError('PH_INVALID_INPUT', `A ${kind} replica needs ${f}`, { field: f });
    };
    if (kind === 'folder') {
      need(['path']);
      return { target: { path: rest.path as string }, secrets: {} };
    }
    if (kind === 's3') {
      need(['endpoint', 'bucket', 'accessKeyId']);
      if (secretAccessKey === undefined)
        throw new PhError('PH_INVALID_INPUT', 'An s3 replica needs secretAccessKey', { field: 'secretAccessKey' });
      const { endpoint, bucket, prefix, region, accessKeyId } = rest;
      return {
        target: { endpoint, bucket, prefix: prefix ?? '', region: region ?? 'us-east-1', accessKeyId } as ReplicaTarget,
        secrets: { secretAccessKey },
      };
    }
    if (kind === 'peer') {
      if (rest.url === undefined && rest.node === undefined)
        throw new PhError('PH_INVALID_INPUT', 'A peer replica needs url, or node (found by LAN discovery)', { field: 'url' });
      if (apiKey === undefined)
        throw new PhError('PH_INVALID_INPUT', 'A peer replica needs apiKey (an admin key of that node)', { field: 'apiKey' });
      const { url, node, certSha256 } = rest;
      return {
        target: {
          ...(url === undefined ? {} : { url }),
          ...(node === undefined ? {} : { node }),
          ...(certSha256 === undefined ? {} : { certSha256 }),
        } as ReplicaTarget,
        secrets: { apiKey },
      };
    }
    need(['host', 'port', 'username', 'path', 'hostKeySha256']);
    if (hasUnsafeChars(rest.path as string))
      throw new PhError(
        'PH_BACKUP_REPLICA_REFUSED',
        'The sftp path must not hold control characters, bidirectional controls or broken Unicode',
        { field: 'path' },
      );
    if (privateKey === undefined && password === undefined)
      throw new PhError('PH_INVALID_INPUT', 'An sftp replica needs privateKey or password', { field: 'privateKey' });
    const { host, port, username, path, hostKeySha256 } = rest;
    return {
      target: { host, port, username, path, hostKeySha256 } as ReplicaTarget,
      secrets: { ...(privateKey === undefined ? {} : { privateKey }), ...(password === undefined ? {} : { password }) },
    };
  }

  /** The transport for a replica, after its destination passed the checks (again at every connection: DNS and mounts change). */
  async #transport(r: { kind: ReplicaKind; target: ReplicaTarget }, secrets: ReplicaSecrets): Promise<ReplicaTransport> {
    const t = r.target;
    if (r.kind === 'folder') return new FolderTransport(this.#folder(t.path as string));
    if (r.kind === 's3') {
      let url: URL;
      try {
        url = new URL(t.endpoint as string);
      } catch {
        throw new PhError('PH_BACKUP_REPLICA_REFUSED', 'The S3 endpoint is not a URL', { field: 'endpoint' });
      }
      if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username !== '' || url.password !== '')
        throw new PhError('PH_BACKUP_REPLICA_REFUSED', 'The S3 endpoint must be an http(s) URL without credentials', { field: 'endpoint' });
      const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
      const { address, family } = await this.#reach.resolve(url.hostname, port);
      // Plain http connects to the approved address; https keeps the name (its certificate names it).
      const endpoint = url.protocol === 'https:' ? url.origin : `http://${family === 6 ? `[${address}]` : address}:${port}`;
      // Loaded on first use: the AWS SDK and ssh2 are an eighth of the app's start, and most nodes use neither.
      const { S3Transport } = await import('./replica-s3');
      return new S3Transport({
        endpoint,
        bucket: t.bucket as string,
        prefix: t.prefix ?? '',
        region: t.region ?? 'us-east-1',
        accessKeyId: t.accessKeyId as string,
        secretAccessKey: secrets.secretAccessKey ?? '',
      });
    }
    if (r.kind === 'peer') return this.#peer(t, secrets);
    const { address } = await this.#reach.resolve(t.host as string, t.port as number);
    const { SftpTransport } = await import('./replica-sftp');
    return new SftpTransport({
      host: address,
      port: t.port as number,
      username: t.username as string,
      path: t.path as string,
      hostKeySha256: t.hostKeySha256 as string,
      ...(secrets.privateKey === undefined ? {} : { privateKey: secrets.privateKey }),
      ...(secrets.password === undefined ? {} : { password: secrets.password }),
    });
  }

  /** Another node: an http(s) base URL that passes the outbound-reach policy, signed for with the fleet secret. */
  async #peer(t: ReplicaTarget, secrets: ReplicaSecrets): Promise<PeerTransport> {
    const seal = this.deps.peerSeal;
    if (seal === null)
      throw new PhError('PH_BACKUP_REPLICA_REFUSED', 'A peer replica needs the fleet secret (fleetSecret) on both nodes', {
        field: 'kind',
      });
    // Named by id only: wherever the node last announced itself on the LAN (the address may change).
    const given = t.url ?? this.deps.peerUrl(t.node as string);
    if (given === null)
      throw new PhError(
        'PH_BACKUP_REPLICA_UNREACHABLE',
        `No Pilothouse node ${JSON.stringify(t.node)} announced itself on the LAN (mDNS needs LAN access on both nodes): give its url`,
        { field: 'node' },
      );
    let url: URL;
    try {
      url = new URL(given);
    } catch {
      throw new PhError('PH_BACKUP_REPLICA_REFUSED', 'The peer URL is not a URL', { field: 'url' });
    }
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username !== '' || url.password !== '' || url.pathname !== '/')
      throw new PhError('PH_BACKUP_REPLICA_REFUSED', 'The peer URL is http(s)://host:port, without credentials or a path', {
        field: 'url',
      });
    const https = url.protocol === 'https:';
    const port = url.port === '' ? (https ? 443 : 80) : Number(url.port);
    const { address } = await this.#reach.resolve(url.hostname, port);
    return new PeerTransport({
      address,
      port,
      tls: https ? { servername: url.hostname.replace(/^\[|\]$/g, ''), certSha256: t.certSha256 ?? null } : null,
      hostHeader: url.host,
      node: t.node ?? null,
      apiKey: secrets.apiKey ?? '',
      seal,
    });
  }

  /** A folder replica: an existing folder under a folder root, neither inside the repository nor holding it. */
  #folder(path: string): string {
    const refused = () =>
      new PhError(
        'PH_BACKUP_REPLICA_REFUSED',
        'The replica folder must be an existing folder under a backup root, apart from the repository',
        { field: 'path' },
      );
    if (hasUnsafeChars(path) || !isAbsolute(path)) throw refused();
    let real: string;
    try {
      real = realpathSync(path);
      if (!statSync(real).isDirectory()) throw refused();
    } catch {
      throw refused();
    }
    const inside = (child: string, parent: string) => {
      const rel = relative(parent, child);
      return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel) && !rel.startsWith(`..${sep}`));
    };
    const roots = this.deps.folderRoots.map((root) => {
      try {
        return realpathSync(root);
      } catch {
        return root;
      }
    });
    const repoDir = realpathSync(this.deps.repo().dir);
    if (!roots.some((root) => inside(real, root)) || inside(real, repoDir) || inside(repoDir, real)) throw refused();
    return real;
  }
}
