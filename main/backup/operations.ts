import { statSync } from 'node:fs';
import { withFile, type HandlersFor } from '../core';
import type { BackupService } from './backup-service';

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
  | 'backup.history';

export function backupHandlers(backup: BackupService): HandlersFor<BackupOperationName> {
  return {
    'backup.sources.list': () => ({ sources: backup.listSources(), repository: backup.repositoryStats(), running: backup.running() }),
    'backup.sources.register': (input) => ({ source: backup.registerSource(input) }),
    'backup.sources.update': (input) => ({ source: backup.updateSource(input) }),
    'backup.sources.remove': (input) => ({ removed: backup.removeSource(input.id) }),
    'backup.snapshot': async (input) => ({ snapshot: await backup.snapshot(input.id, 'manual') }),
    'backup.snapshots.list': (input) => ({ snapshots: backup.listSnapshots(input.sourceId, input.limit ?? 200) }),
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
    'backup.verifications.list': (input) => ({ verifications: backup.listVerifications(input.snapshotId, input.limit ?? 200) }),
    'backup.restore.plan': (input) => backup.planRestore(input),
    'backup.restore': async (input) => ({ restore: await backup.restore(input) }),
    'backup.prune': () => backup.prune(),
    'backup.history': (input) => backup.history(input.limit ?? 50),
  };
}
