import type { BackupCatalogue } from './catalogue';
import type { PageRepository } from './page-repository';

/**
 * Manifests are the truth; catalogue rows follow them after a crash between the two. A manifest
 * that no longer decodes keeps its row, with a failed verification saying why, so the snapshot
 * is listed as damaged instead of silently dropping out of the list.
 */
export function reconcileCatalogue(repo: PageRepository, catalogue: BackupCatalogue, now: number): void {
  const headers = new Map(repo.listManifests().map((h) => [h.id, h]));
  const damaged = new Map(repo.damaged().map((d) => [d.id, d]));
  for (const id of catalogue.snapshotIds()) if (!headers.has(id) && !damaged.has(id)) catalogue.deleteSnapshot(id);
  for (const d of damaged.values()) {
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
      integrity: [`the manifest ${d.file} is damaged: ${d.error}`],
      durationMs: 0,
    });
  }
  const known = new Set(catalogue.snapshotIds());
  for (const h of headers.values()) if (!known.has(h.id)) catalogue.insertSnapshot(h, { pages: 0, bytes: 0 }, 0);
}
