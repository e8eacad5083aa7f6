import type { BackupParts } from './backup-options';
import { forgetMissingPacks, lostPacks, settleLostPacks, type LostPack } from './lost-packs';
import { MANIFEST_MISSING } from './page-repository';

/**
 * What the repository lost, said out loud: pack files gone (checked at start, before each snapshot,
 * prune and replica push), manifests gone, or the whole folder gone. Each is a warning in the log,
 * a failed verification on the snapshots it damages (so they list as damaged), and the service's
 * `degraded` status, with the code PH_BACKUP_DAMAGED, until it is settled: a restore from a replica
 * brings the files back, the damaged snapshots verify sound again, or prune removes them.
 */
export function checkPacks({ repo, catalogue, options }: BackupParts): LostPack[] {
  const lost = forgetMissingPacks(repo, options.clock.now());
  if (lost.length === 0) return lost;
  const snapshots = [...new Set(lost.flatMap((l) => l.snapshots))];
  options.logger.warn(
    { code: 'PH_BACKUP_DAMAGED', packs: lost.map((l) => l.id), pages: lost.reduce((n, l) => n + l.pages, 0), snapshots },
    'pack files of the backup repository are missing: the next snapshot stores their pages again; the snapshots that needed them are damaged (restore the packs from a replica, or prune those snapshots)',
  );
  for (const id of snapshots) {
    const row = catalogue.snapshot(id);
    if (row === undefined) continue;
    const packs = lost.filter((l) => l.snapshots.includes(id)).map((l) => l.id);
    catalogue.insertVerification({
      snapshotId: id,
      sourceId: row.sourceId,
      at: options.clock.now(),
      ok: false,
      pagesChecked: 0,
      badPages: [],
      imageHashOk: false,
      integrity: [`pages of this snapshot were in pack ${packs.join(', ')}, whose file is missing from the repository`],
      durationMs: 0,
    });
  }
  return lost;
}

/** At start: a warning naming each snapshot whose manifest file is gone, and the folder if it was gone too. */
export function reportLostManifests({ repo, options }: BackupParts, missing: readonly string[]): void {
  if (missing.length === 0) return;
  if (repo.startedEmpty)
    options.logger.warn(
      { code: 'PH_BACKUP_DAMAGED', repository: repo.dir, snapshots: missing.length },
      'the backup repository folder was missing: an empty one was started, and the snapshots the catalogue lists are lost (restore them from a replica: backup.replicas.restore)',
    );
  options.logger.warn(
    { code: 'PH_BACKUP_DAMAGED', snapshots: missing.slice(0, 50), count: missing.length },
    'snapshots whose manifest file is missing are listed as damaged (a restore from a replica brings them back; prune forgets them)',
  );
}

/** A verification that found a snapshot sound settles the losses it was counted in. */
export function settleVerified(parts: BackupParts, snapshotId: string): void {
  settleLostPacks(parts.repo.db, (id) => id === snapshotId);
}

/** Prune: the manifests that are gone are forgotten (nothing is left of them to keep), and losses no kept snapshot needs are closed. */
export function settleAfterPrune({ repo, catalogue }: BackupParts): string[] {
  const forgotten: string[] = [];
  for (const d of repo.damaged()) {
    if (d.error !== MANIFEST_MISSING || !repo.forgetMissing(d.id)) continue;
    catalogue.deleteSnapshot(d.id);
    forgotten.push(d.id);
  }
  settleLostPacks(repo.db, (id) => repo.header(id) === undefined);
  return forgotten;
}

/** The status detail while anything lost is unsettled, or null. */
export function damageDetail({ repo }: BackupParts): string | null {
  const notes: string[] = [];
  const lost = lostPacks(repo.db);
  if (lost.length > 0) {
    const snapshots = [...new Set(lost.flatMap((l) => l.snapshots))];
    notes.push(
      `${lost.length} pack files missing (${lost
        .slice(0, 3)
        .map((l) => l.id)
        .join(', ')}), ${snapshots.length} snapshots need their pages: restore from a replica (backup.replicas.restore) or prune them`,
    );
  }
  const damaged = repo.damaged();
  if (damaged.length > 0) {
    const missing = damaged.filter((d) => d.error === MANIFEST_MISSING).length;
    notes.push(
      `${damaged.length} damaged snapshots (${damaged
        .slice(0, 5)
        .map((d) => d.id)
        .join(
          ', ',
        )})${missing > 0 ? `, ${missing} with no manifest file${repo.startedEmpty ? ' (the repository folder was lost)' : ''}` : ''}: restore from another snapshot`,
    );
  }
  return notes.length === 0 ? null : `PH_BACKUP_DAMAGED: ${notes.join('; ')}`;
}
