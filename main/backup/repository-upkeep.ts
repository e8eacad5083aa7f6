import type { BackupParts, BackupWork } from './backup-options';
import { pruneRepository } from './prune';
import { checkPacks, settleAfterPrune } from './repository-damage';
import type { BackupPrune, BackupVerification } from './types';

/**
 * Applies each source's retention, deletes the manifests it drops, then sweeps pages no kept
 * snapshot names (snapshots a restore or export is reading are pinned and kept; a snapshot whose
 * last verification failed does not count as kept, see pruneRepository). Snapshots whose manifest
 * file is gone are forgotten. Recorded in the catalogue for `backup.history`.
 */
export function pruneByRetention(work: BackupWork): Promise<{ prune: BackupPrune; removedSnapshotIds: string[] }> {
  return work.job('prune', null, null, (report) =>
    work.lock.run('prune', async () => {
      const now = work.options.clock.now();
      report('prune', 0, 1);
      checkPacks(work);
      const { removed, swept } = await pruneRepository(
        work.repo,
        (sourceId) => work.catalogue.source(sourceId)?.retention ?? {},
        now,
        work.pins.ids(),
        (id) => work.catalogue.deleteSnapshot(id),
        work.catalogue.failedSnapshotIds(),
      );
      const forgotten = settleAfterPrune(work);
      if (forgotten.length > 0)
        work.options.logger.info({ snapshots: forgotten }, 'prune forgot the snapshots whose manifest file is missing');
      report('prune', 1, 1);
      const prune = work.catalogue.insertPrune({
        at: now,
        removedSnapshots: removed.length + forgotten.length,
        removedPages: swept.removedPages,
        freedBytes: swept.freedBytes,
      });
      return { prune, removedSnapshotIds: [...removed, ...forgotten] };
    }),
  );
}

/**
 * Verifies the share of snapshots verified least recently (`rollingVerifyShare`, default a seventh),
 * so every one is checked within a week; each verification is audited as the scheduler's.
 */
export async function verifyRollingShare(
  parts: BackupParts,
  verify: (snapshotId: string) => Promise<BackupVerification>,
): Promise<BackupVerification[]> {
  const share = parts.options.rollingVerifyShare ?? 1 / 7;
  const total = parts.repo.listManifests().length;
  const ids = parts.catalogue.leastRecentlyVerified(Math.ceil(total * share));
  const out: BackupVerification[] = [];
  for (const id of ids) {
    if (parts.repo.header(id) === undefined) continue;
    const v = await verify(id);
    parts.options.audit?.({ actor: 'scheduler', action: 'backup.verify', target: id, outcome: v.ok ? 'ok' : 'error' });
    out.push(v);
  }
  return out;
}
