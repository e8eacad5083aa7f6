import { statSync } from 'node:fs';
import { PhError } from '../../contract/errors';
import { withFile, type HandlersFor } from '../core';
import type { BackupService } from './backup-service';
import type { CatalogueShare } from './catalogue-share';
import type { BackupSnapshot, BackupSource } from './types';

export type BackupOperationName =
  | 'backup.sources.list'
  | 'backup.sources.register'
  | 'backup.sources.update'
  | 'backup.sources.remove'
  | 'backup.snapshot'
  | 'backup.snapshots.list'
  | 'backup.export'
  | 'backup.verify'
  | 'backup.verifications.list'
  | 'backup.restore.plan'
  | 'backup.restore'
  | 'backup.prune'
  | 'backup.history'
  | 'backup.key.status'
  | 'backup.key.unlock'
  | 'backup.key.passphrase'
  | 'backup.key.export';

/**
 * With a fleet share, the lists are fleet-wide: this node's own entries (read from its SQLite, so
 * always current) and the other nodes' from Redis, each with its node; without Redis, this node's.
 */
export function backupHandlers(backup: BackupService, share: CatalogueShare | null = null): HandlersFor<BackupOperationName> {
  const sources = async (): Promise<BackupSource[]> => {
    const mine = backup.listSources().map((s) => (share === null ? s : { ...s, node: share.node }));
    if (share === null) return mine;
    const others = await share.sources().catch(() => []);
    return [...mine, ...others.filter((s) => s.node !== share.node)];
  };
  const snapshots = async (sourceId: string | undefined, limit: number): Promise<BackupSnapshot[]> => {
    const mine = backup.listSnapshots(sourceId, limit).map((s) => (share === null ? s : { ...s, node: share.node }));
    if (share === null) return mine;
    const others = (await share.snapshots(sourceId, limit).catch(() => [])).filter((s) => s.node !== share.node);
    return [...mine, ...others].sort((a, b) => b.capturedAt.localeCompare(a.capturedAt)).slice(0, limit);
  };
  return {
    'backup.sources.list': async () => ({ sources: await sources(), repository: backup.repositoryStats(), running: backup.running() }),
    'backup.sources.register': (input) => ({ source: backup.registerSource(input) }),
    'backup.sources.update': (input) => ({ source: backup.updateSource(input) }),
    'backup.sources.remove': (input) => ({ removed: backup.removeSource(input.id) }),
    'backup.snapshot': async (input) => ({ snapshot: await backup.snapshot(input.id, 'manual') }),
    'backup.snapshots.list': async (input) => ({ snapshots: await snapshots(input.sourceId, input.limit ?? 200) }),
    'backup.export': async (input) => {
      const image = await backup.exportImage(input.id);
      let bytes: number;
      try {
        bytes = statSync(image.path).size;
      } catch (err) {
        image.done();
        throw err;
      }
      const file = { path: image.path, fileName: image.fileName, contentType: 'application/vnd.sqlite3', done: image.done };
      return withFile({ fileName: image.fileName, bytes }, file);
    },
    'backup.verify': async (input) => ({ verification: await backup.verify(input.id) }),
    'backup.verifications.list': (input) => {
      if (input.snapshotIds !== undefined && input.snapshotId !== undefined)
        throw new PhError('PH_INVALID_INPUT', 'Name one snapshot (snapshotId) or several (snapshotIds), not both', {
          field: 'snapshotIds',
        });
      return { verifications: backup.listVerifications(input.snapshotIds ?? input.snapshotId, input.limit ?? 200) };
    },
    'backup.restore.plan': (input) => backup.planRestore(input),
    'backup.restore': async (input) => ({ restore: await backup.restore(input) }),
    'backup.prune': () => backup.prune(),
    'backup.history': (input) => backup.history(input.limit ?? 50),
    'backup.key.status': () => backup.keyStatus(),
    'backup.key.unlock': (input) => backup.unlockKey(input.passphrase),
    'backup.key.passphrase': (input) => backup.setKeyPassphrase(input.current ?? null, input.passphrase),
    'backup.key.export': () => backup.exportKey(),
  };
}
