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
 */
export async function pruneRepository(
  repo: PageRepository,
  policyOf: (sourceId: string) => RetentionPolicy,
  now: number,
  pinned: ReadonlySet<string> = new Set(),
  onRemoved: (id: string) => void = () => undefined,
): Promise<PruneOutcome> {
  const headers = repo.listManifests();
  const keep = new Set<string>(pinned);
  const bySource = new Map<string, ManifestHeader[]>();
  for (const h of headers) bySource.set(h.sourceId, [...(bySource.get(h.sourceId) ?? []), h]);
  for (const [sourceId, list] of bySource) selectKept(list, policyOf(sourceId), now).forEach((id) => keep.add(id));
  const removed = headers.filter((h) => !keep.has(h.id)).map((h) => h.id);
  for (const id of removed) {
    repo.deleteManifest(id);
    onRemoved(id);
  }
  repo.syncManifests();
  const live = new Set<string>();
  for (const h of repo.listManifests()) {
    const pages = repo.readManifest(h.id).pages;
    for (let i = 0; i < h.pageCount; i += 1) live.add(pages.subarray(i * 32, i * 32 + 32).toString('hex'));
  }
  const swept = await repo.sweep(live);
  return { removed, kept: repo.listManifests().map((h) => h.id), swept };
}
