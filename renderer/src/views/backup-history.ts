import type { OperationResult } from '../../../contract/operations';

type History = OperationResult<'backup.history'>;

/** One row of the Backups view's history: a restore, a prune or a cancelled snapshot. */
export type HistoryEntry =
  | { kind: 'restore'; at: string; restore: History['restores'][number] }
  | { kind: 'prune'; at: string; prune: History['prunes'][number] }
  | { kind: 'cancel'; at: string; cancel: History['cancelled'][number] };

/**
 * backup.history answers three lists, each newest first; the view shows one timeline, newest first,
 * of at most `limit` rows. Each list holds its own newest `limit`, so the newest `limit` of the merge
 * are the newest overall.
 */
export function mergeBackupHistory(history: History, limit: number): HistoryEntry[] {
  const entries: HistoryEntry[] = [
    ...history.restores.map((restore) => ({ kind: 'restore' as const, at: restore.at, restore })),
    ...history.prunes.map((prune) => ({ kind: 'prune' as const, at: prune.at, prune })),
    ...history.cancelled.map((cancel) => ({ kind: 'cancel' as const, at: cancel.at, cancel })),
  ];
  return entries.sort((a, b) => Date.parse(b.at) - Date.parse(a.at)).slice(0, limit);
}
