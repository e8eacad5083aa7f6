import type { Database } from 'better-sqlite3';
import { durationOf, type RetentionCut } from '../core';

/**
 * The backup history cut by age: verifications (but the latest of each snapshot still held, which
 * the catalogue shows and the rolling verify orders by) and prune records. Snapshots themselves
 * follow each source's own retention policy (retention.ts), and restores and cancelled snapshots
 * are kept: they are rare and each is an operator's act.
 */
export function backupRetentionCuts(db: Database, verificationMs: number): RetentionCut[] {
  return [
    {
      name: 'backup verifications',
      tables: ['backup_verifications', 'backup_prunes'],
      keeps: `${durationOf(verificationMs)}, and the latest verification of each snapshot`,
      run: (now) =>
        db.transaction(() => {
          const before = now - verificationMs;
          const verifications = db
            .prepare(
              `DELETE FROM backup_verifications WHERE at < ? AND id NOT IN (
                 SELECT max(id) FROM backup_verifications WHERE snapshot_id IN (SELECT id FROM backup_snapshots) GROUP BY snapshot_id)`,
            )
            .run(before).changes;
          return verifications + db.prepare('DELETE FROM backup_prunes WHERE at < ?').run(before).changes;
        })(),
    },
  ];
}
