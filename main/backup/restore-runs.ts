import { existsSync } from 'node:fs';
import { PhError, faultOf } from '../../contract/errors';
import type { BackupParts, BackupWork } from './backup-options';
import { messageOf } from './backup-faults';
import { reassemble } from './reassembler';
import { chooseSnapshot, exportFileName, readHeader, restoreSteps, restoreTarget } from './restore-flow';
import { assertNotInUse, restoreFile } from './restorer';
import { removeImage } from './snapshotter';
import type { BackupRestore, BackupRestorePlan, BackupSnapshot, RestoreRequest } from './types';

/** What a restore would do (snapshot chosen, target, safety copy), without doing it. */
export function planRestore(parts: BackupParts, req: RestoreRequest): BackupRestorePlan {
  const h = chooseSnapshot(parts.repo, req);
  const { target, inPlace } = restoreTarget(parts.catalogue, parts.paths, h, req);
  const snapshot = parts.catalogue.snapshot(h.id) as BackupSnapshot;
  return { snapshot, target, inPlace, safetySnapshot: inPlace, steps: restoreSteps(h, target, inPlace) };
}

/**
 * Restores a snapshot to a new file or in place; in place, `safetySnapshot` first snapshots the
 * source as it is and answers that snapshot's id. The snapshot is pinned (prune keeps it) while the
 * restore runs, and the restore is recorded in the catalogue whether it succeeded or not.
 */
export async function restoreSnapshot(
  work: BackupWork,
  req: RestoreRequest,
  safetySnapshot: (sourceId: string) => Promise<string>,
): Promise<BackupRestore> {
  const h = chooseSnapshot(work.repo, req);
  const { target, inPlace, source } = restoreTarget(work.catalogue, work.paths, h, req);
  work.pins.pin(h.id);
  const started = performance.now();
  let safetySnapshotId: string | null = null;
  const record = (ok: boolean, error: string | null): BackupRestore =>
    work.catalogue.insertRestore({
      snapshotId: h.id,
      sourceId: h.sourceId,
      target,
      inPlace,
      safetySnapshotId,
      at: work.options.clock.now(),
      ok,
      error,
      durationMs: performance.now() - started,
    });
  try {
    return await work.job('restore', h.sourceId, h.id, async (report) => {
      // Checked before the safety snapshot so a busy target costs nothing; checked again at the swap.
      if (inPlace && req.force !== true && existsSync(target)) assertNotInUse(target);
      if (inPlace && source !== null && existsSync(target)) {
        report('safety snapshot', 0, 1);
        safetySnapshotId = await safetySnapshot(source.id);
      }
      await work.lock.run('read', () => restoreFile(work.repo, work.workers, h, target, inPlace, report, req.force === true));
      return record(true, null);
    });
  } catch (err) {
    // backup.history is read by viewers: a coded message, never an internal error's text (it can name internal paths).
    const fault = faultOf(err);
    if (fault === null) work.options.logger.warn({ err: messageOf(err), snapshotId: h.id }, 'backup restore failed');
    record(false, messageOf(fault ?? new PhError('PH_INTERNAL')));
    throw err;
  } finally {
    work.pins.unpin(h.id);
  }
}

/** Rebuilds a snapshot into a temp file for download; the caller streams it and then calls `done`. */
export async function exportSnapshotImage(
  work: BackupWork,
  snapshotId: string,
): Promise<{ path: string; fileName: string; done: () => void }> {
  const h = readHeader(work.repo, snapshotId);
  const path = `${work.repo.tempPath('export')}.sqlite`;
  work.pins.pin(h.id);
  try {
    await work.lock.run('read', async () => {
      const { badPages } = await reassemble(work.repo, work.repo.readManifest(h.id), path);
      if (badPages.length > 0) throw new PhError('PH_BACKUP_VERIFY_FAILED', `${badPages.length} pages of ${h.id} failed their hash check`);
    });
  } catch (err) {
    removeImage(path);
    throw err;
  } finally {
    work.pins.unpin(h.id);
  }
  return { path, fileName: exportFileName(h), done: () => removeImage(path) };
}
