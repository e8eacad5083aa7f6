import { dirname, join } from 'node:path';
import { PhError } from '../../contract/errors';
import type { BackupParts } from './backup-options';
import { reconcileCatalogue } from './catalogue-reconcile';
import { ReplicaManager } from './replica-manager';
import { checkPacks } from './repository-damage';
import { ReplicaStore } from './replica-store';
import type { RepoKeyring } from './repo-keyring';
import type { RepoLock } from './repo-lock';

/**
 * The service's replica manager, wired from the service's options: replica credentials beside the
 * repository key, the repository lock refused while the key is locked, and the catalogue brought in
 * line after a restore from a replica.
 */
export function replicaManagerFor(parts: BackupParts, keyring: RepoKeyring, lock: RepoLock): ReplicaManager {
  const { repo, catalogue, options } = parts;
  return new ReplicaManager({
    repo: () => repo,
    store: new ReplicaStore(options.db, join(dirname(keyring.file.path), 'backup-replicas')),
    lock: (mode, fn) => {
      if (keyring.locked)
        return Promise.reject(new PhError('PH_BACKUP_KEY_LOCKED', 'The backup repository key is locked: unlock it first'));
      return lock.run(mode, fn);
    },
    now: () => options.clock.now(),
    folderRoots: options.replicaRoots ?? options.roots,
    allowCidrs: options.replicaAllowCidrs ?? [],
    ownHttpPort: options.ownHttpPort ?? (() => null),
    redis: options.redisTarget ?? null,
    ...(options.replicaLookup === undefined ? {} : { lookup: options.replicaLookup }),
    peerSeal: options.peerSeal ?? null,
    peerUrl: options.peerUrl ?? (() => null),
    reconcile: () => reconcileCatalogue(repo, catalogue, options.clock.now()),
    checkPacks: () => void checkPacks(parts),
  });
}
