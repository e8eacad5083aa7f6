import type { ManifestHeader } from './manifest';
import type { PageRepository, SweepResult } from './page-repository';
import { selectKept, type RetentionPolicy } from './retention';

export interface PruneOutcome {
  readonly removed: string[];
  readonly kept: string[];
  readonly swept: SweepResult;
}

/**
 * Mark-and-sweep over the repository. Retention picks, per source, the snapshots to keep (plus every
 * pinned one); the others' manifests are deleted first and fsynced; then every page named by a kept
 * manifest is marked live and the sweep removes the rest. Run it with nothing else touching the
 * repository (the service's prune lock).
 *
 * `damaged` (snapshots known to fail verification) do not count as kept: retention keeps what it
 * would keep of all snapshots and also what it would keep of the sound ones, so `keepLast: 1` keeps a
 * damaged newest snapshot and the newest sound one before it, never the damaged one alone.
 * `onRemoved` runs before a manifest is deleted, so a crash between the two leaves a manifest
 * without its catalogue row (listed again at start), never a row without its manifest (a loss).
 */
export async function pruneRepository(
  repo: PageRepository,
  policyOf: (sourceId: string) => RetentionPolicy,
  now: number,
  pinned: ReadonlySet<string> = new Set(),
  onRemoved: (id: string) => void = () => undefined,
  damaged: ReadonlySet<string> = new Set(),
): Promise<PruneOutcome> {
  const headers = repo.listManifests();
  const keep = new Set<string>(pinned);
  const bySource = new Map<string, ManifestHeader[]>();
  for (const h of headers) bySource.set(h.sourceId, [...(bySource.get(h.sourceId) ?? []), h]);
  for (const [sourceId, list] of bySource) {
    const policy = policyOf(sourceId);
    selectKept(list, policy, now).forEach((id) => keep.add(id));
    selectKept(
      list.filter((h) => !damaged.has(h.id)),
      policy,
      now,
    ).forEach((id) => keep.add(id));
  }
  const removed = headers.filter((h) => !keep.has(h.id)).map((h) => h.id);
  for (const id of removed) {
    onRemoved(id);
    repo.deleteManifest(id);
  }
  repo.syncManifests();
  const live = new Set<string>();
  for (const h of repo.listManifests()) {
    let pages: Buffer;
    try {
      pages = repo.readManifest(h.id).pages;
    } catch (err) {
      // Its file went missing since start: it is listed as damaged now, with nothing left to mark.
      if ((err as { code?: string }).code === 'PH_BACKUP_DAMAGED') continue;
      throw err;
    }
    for (let i = 0; i < h.pageCount; i += 1) live.add(pages.subarray(i * 32, i * 32 + 32).toString('hex'));
  }
  const swept = await repo.sweep(live);
  return { removed, kept: repo.listManifests().map((h) => h.id), swept };
}
