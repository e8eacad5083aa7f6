import type { BackupCatalogue } from './catalogue';
import { MANIFEST_MISSING, type PageRepository } from './page-repository';

/**
 * Brings the catalogue in line with the manifests. A manifest with no row (a crash between the
 * two, a restore from a replica) gets its row. A row whose manifest no longer decodes, or whose file
 * is gone, keeps its row, with a failed verification saying why, so the snapshot is listed as
 * damaged instead of silently dropping out of the list (prune drops a row before its manifest, so a
 * row without a manifest is always a loss). Returns the ids whose manifest file was found missing.
 */
export function reconcileCatalogue(repo: PageRepository, catalogue: BackupCatalogue, now: number): string[] {
  const headers = new Map(repo.listManifests().map((h) => [h.id, h]));
  const damaged = new Set(repo.damaged().map((d) => d.id));
  const missing: string[] = [];
  for (const id of catalogue.snapshotIds()) {
    if (headers.has(id) || damaged.has(id)) continue;
    repo.markMissing(id);
    missing.push(id);
  }
  for (const d of repo.damaged()) {
    const row = catalogue.snapshot(d.id);
    if (row === undefined || row.lastVerification?.ok === false) continue;
    catalogue.insertVerification({
      snapshotId: d.id,
      sourceId: row.sourceId,
      at: now,
      ok: false,
      pagesChecked: 0,
      badPages: [],
      imageHashOk: false,
      integrity: [d.error === MANIFEST_MISSING ? `the manifest ${d.file} is missing` : `the manifest ${d.file} is damaged: ${d.error}`],
      durationMs: 0,
    });
  }
  const known = new Set(catalogue.snapshotIds());
  for (const h of headers.values()) if (!known.has(h.id)) catalogue.insertSnapshot(h, { pages: 0, bytes: 0 }, 0);
  return missing;
}
