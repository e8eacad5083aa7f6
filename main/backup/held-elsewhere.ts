import { PhError } from '../../contract/errors';
import type { CatalogueShare } from './catalogue-share';

/** What a backup operation names that may live in another node's repository. */
export interface BackupIds {
  readonly snapshotId?: string | undefined;
  readonly sourceId?: string | undefined;
}

const NOT_HERE = new Set(['PH_BACKUP_NOT_FOUND', 'PH_BACKUP_SOURCE_NOT_FOUND', 'PH_BACKUP_NO_SNAPSHOT']);

/**
 * In a fleet the lists are fleet-wide, so an operator picks another node's snapshot or source from
 * them; each node's repository is its own, so restore, export, verify and snapshot run on the node
 * that holds it. Asked elsewhere, the "not found" of this node would mislead: the error keeps its
 * code and names the node to ask (`details.node`).
 */
export function heldElsewhere(
  share: Pick<CatalogueShare, 'node' | 'ownerOfSnapshot' | 'ownerOfSource'> | null,
): <T>(ids: BackupIds, run: () => T | Promise<T>) => Promise<T> {
  return async (ids, run) => {
    try {
      return await run();
    } catch (err) {
      if (share === null || !(err instanceof PhError) || !NOT_HERE.has(err.code)) throw err;
      const owner = await ownerOf(share, ids).catch(() => null);
      if (owner === null || owner === share.node) throw err;
      const what = ids.snapshotId !== undefined ? `Snapshot ${ids.snapshotId}` : `Source ${ids.sourceId ?? ''}`;
      throw new PhError(
        err.code,
        `${what} is in the repository of node ${owner}, not this one; ask that node (each node restores, exports, verifies and snapshots its own)`,
        { details: { node: owner } },
      );
    }
  };
}

function ownerOf(share: Pick<CatalogueShare, 'ownerOfSnapshot' | 'ownerOfSource'>, ids: BackupIds): Promise<string | null> {
  if (ids.snapshotId !== undefined) return share.ownerOfSnapshot(ids.snapshotId);
  if (ids.sourceId !== undefined) return share.ownerOfSource(ids.sourceId);
  return Promise.resolve(null);
}
