import { basename } from 'node:path';
import { PhError } from '../../contract/errors';
import type { BackupCatalogue, SourceRecord } from './catalogue';
import type { ManifestHeader } from './manifest';
import type { PageRepository } from './page-repository';
import type { BackupPathPolicy } from './path-policy';
import type { RestoreRequest } from './types';

/** A snapshot's header, or why there is none: a damaged manifest is told apart from an unknown id. */
export function readHeader(repo: PageRepository, id: string): ManifestHeader {
  const h = repo.header(id);
  if (h === undefined && repo.damaged().some((d) => d.id === id))
    throw new PhError('PH_BACKUP_DAMAGED', `The manifest of snapshot ${id} is damaged`, { details: { snapshotId: id } });
  if (h === undefined) throw new PhError('PH_BACKUP_NOT_FOUND', `There is no snapshot ${JSON.stringify(id)}`);
  return h;
}

/** The snapshot a restore asks for: by id, or the source's newest at or before `at` (now without one). */
export function chooseSnapshot(repo: PageRepository, req: RestoreRequest): ManifestHeader {
  if (req.snapshotId !== undefined) return readHeader(repo, req.snapshotId);
  if (req.sourceId === undefined)
    throw new PhError('PH_INVALID_INPUT', 'Give a snapshotId, or a sourceId (with an optional at)', { field: 'snapshotId' });
  const at = req.at === undefined ? Number.POSITIVE_INFINITY : Date.parse(req.at);
  const candidates = repo.listManifests().filter((h) => h.sourceId === req.sourceId && h.capturedAt <= at);
  const newest = candidates.at(-1);
  if (newest === undefined)
    throw new PhError('PH_BACKUP_NO_SNAPSHOT', `Source ${req.sourceId} has no snapshot at or before ${req.at ?? 'now'}`);
  return newest;
}

export interface RestoreTarget {
  readonly target: string;
  readonly inPlace: boolean;
  readonly source: SourceRecord | null;
}

/** Where a restore writes: over the registered source (never the app's own open database) or a new path under the roots. */
export function restoreTarget(catalogue: BackupCatalogue, paths: BackupPathPolicy, h: ManifestHeader, req: RestoreRequest): RestoreTarget {
  if (req.inPlace === true) {
    if (req.targetPath !== undefined)
      throw new PhError('PH_BACKUP_TARGET_INVALID', 'Give either inPlace or targetPath, not both', { field: 'targetPath' });
    const source = catalogue.source(h.sourceId);
    if (source === undefined)
      throw new PhError('PH_BACKUP_TARGET_INVALID', 'The snapshot’s source is no longer registered; restore to a new path');
    if (source.kind === 'app') {
      throw new PhError(
        'PH_BACKUP_TARGET_IN_USE',
        'Pilothouse has its own database open; restore it to a new path and start Pilothouse on that copy',
      );
    }
    return { target: paths.inPlaceTarget(source.path), inPlace: true, source };
  }
  if (req.targetPath === undefined)
    throw new PhError('PH_BACKUP_TARGET_INVALID', 'Give a targetPath, or inPlace: true', { field: 'targetPath' });
  const target = paths.newTarget(req.targetPath);
  return { target, inPlace: false, source: catalogue.source(h.sourceId) ?? null };
}

/** The steps a restore of `h` to `target` takes, in order, as the plan shows them to the operator. */
export function restoreSteps(h: ManifestHeader, target: string, inPlace: boolean): string[] {
  return [
    ...(inPlace ? [`take a safety snapshot of ${target} as it is now`] : []),
    `rebuild snapshot ${h.id} (${new Date(h.capturedAt).toISOString()}, ${h.pageCount} pages) into a temp file beside ${target}`,
    'check every page hash, the whole-image hash and PRAGMA integrity_check',
    ...(inPlace
      ? [`checkpoint ${basename(target)} and remove its -wal and -shm files`, `rename the temp file over ${target} (atomic)`]
      : [
          `refuse if ${basename(target)} or a -wal, -shm or -journal file beside it appeared meanwhile (they are someone else's, never deleted)`,
          `link the temp file into place as ${target} (a name taken meanwhile is refused, never replaced)`,
        ]),
  ];
}

/** The download name of an exported snapshot: the source's name and the capture time, safe in any file system. */
export function exportFileName(h: ManifestHeader): string {
  const stamp = new Date(h.capturedAt).toISOString().replace(/[:.]/g, '-');
  return `${h.sourceName.replace(/[^\w.-]+/g, '_')}-${stamp}.sqlite`;
}

/** Snapshots a running restore or export depends on: prune keeps them whatever retention says. Counted, as two may share one. */
export class SnapshotPins {
  readonly #pinned = new Map<string, number>();

  pin(id: string): void {
    this.#pinned.set(id, (this.#pinned.get(id) ?? 0) + 1);
  }

  unpin(id: string): void {
    const n = (this.#pinned.get(id) ?? 1) - 1;
    if (n <= 0) this.#pinned.delete(id);
    else this.#pinned.set(id, n);
  }

  ids(): Set<string> {
    return new Set(this.#pinned.keys());
  }
}
