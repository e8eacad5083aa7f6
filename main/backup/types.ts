import type { Static } from '@sinclair/typebox';
import type {
  BackupProgressSchema,
  BackupReplicaSchema,
  BackupPruneSchema,
  BackupRestorePlanSchema,
  BackupRestoreSchema,
  BackupSnapshotSchema,
  BackupSourceSchema,
  BackupVerificationSchema,
  RetentionSchema,
} from '../../contract/ops/backup';

export type BackupSource = Static<typeof BackupSourceSchema>;
export type BackupSnapshot = Static<typeof BackupSnapshotSchema>;
export type BackupVerification = Static<typeof BackupVerificationSchema>;
export type BackupRestore = Static<typeof BackupRestoreSchema>;
export type BackupPrune = Static<typeof BackupPruneSchema>;
export type BackupProgress = Static<typeof BackupProgressSchema>;
export type BackupRestorePlan = Static<typeof BackupRestorePlanSchema>;
export type Retention = Static<typeof RetentionSchema>;
export type BackupReplica = Static<typeof BackupReplicaSchema>;

/** How a restore picks its snapshot and target. */
export interface RestoreRequest {
  readonly snapshotId?: string;
  readonly sourceId?: string;
  /** ISO time: the newest snapshot of `sourceId` at or before it. */
  readonly at?: string;
  readonly inPlace?: boolean;
  readonly targetPath?: string;
  /** In place only: replace the database even while another process has it open (docs/backup.md says what that costs). */
  readonly force?: boolean;
}
