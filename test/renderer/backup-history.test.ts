import { describe, expect, it } from 'vitest';
import { mergeBackupHistory } from '../../renderer/src/views/backup-history';

const restore = (id: number, at: string) => ({
  id,
  snapshotId: 'snap-1',
  sourceId: 'app',
  target: '/tmp/x.db',
  inPlace: false,
  safetySnapshotId: null,
  at,
  ok: true,
  error: null,
  durationMs: 5,
});
const prune = (id: number, at: string) => ({ id, at, removedSnapshots: 1, removedPages: 2, freedBytes: 3 });
const cancel = (id: number, at: string) => ({ id, at, sourceId: 'app', by: 'key:ab', phase: 'capture', done: 0, total: 1 });

describe("the Backups view's history is one timeline", () => {
  it('merges restores, prunes and cancelled snapshots newest first', () => {
    const merged = mergeBackupHistory(
      {
        restores: [restore(2, '2025-05-01T05:49:15Z'), restore(1, '2025-05-01T05:49:09Z')],
        prunes: [prune(1, '2025-05-01T05:50:00Z')],
        cancelled: [cancel(1, '2025-05-01T05:51:23Z')],
      },
      10,
    );
    expect(merged.map((e) => `${e.kind} ${e.at}`)).toEqual([
      'cancel 2025-05-01T05:51:23Z',
      'prune 2025-05-01T05:50:00Z',
      'restore 2025-05-01T05:49:15Z',
      'restore 2025-05-01T05:49:09Z',
    ]);
  });

  it('keeps the newest `limit` rows of all three lists', () => {
    const merged = mergeBackupHistory(
      {
        restores: [restore(1, '2025-05-01T01:00:00Z')],
        prunes: [prune(2, '2025-05-01T04:00:00Z'), prune(1, '2025-05-01T02:00:00Z')],
        cancelled: [cancel(1, '2025-05-01T03:00:00Z')],
      },
      2,
    );
    expect(merged.map((e) => e.kind)).toEqual(['prune', 'cancel']);
  });
});
