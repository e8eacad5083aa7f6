import { Type } from '@sinclair/typebox';

/**
 * The shapes the backup operations answer with and its events carry (sources, snapshots,
 * verifications, restores, prunes, cancels, progress, the key's status, replicas). The operations
 * themselves are in backup.ts, which re-exports these under the names the contract has always had.
 */
const Count = Type.Integer({ minimum: 0, maximum: 100_000 });
const Time = Type.String({ format: 'date-time' });
const NullableTime = Type.Union([Time, Type.Null()]);

export const RetentionSchema = Type.Object(
  {
    keepLast: Type.Optional(Count),
    keepHourly: Type.Optional(Count),
    keepDaily: Type.Optional(Count),
    keepWeekly: Type.Optional(Count),
    keepMonthly: Type.Optional(Count),
    keepWithin: Type.Optional(Type.String({ pattern: '^(\\d+[smhdw])+$', description: 'A duration such as 36h, 7d or 1d12h' })),
  },
  { additionalProperties: false },
);

export const BackupSourceSchema = Type.Object({
  id: Type.String(),
  node: Type.Optional(Type.String({ description: 'The node that owns the source (its file is there) and runs its jobs' })),
  name: Type.String(),
  path: Type.String(),
  kind: Type.Union([Type.Literal('app'), Type.Literal('file')]),
  schedule: Type.Union([Type.String(), Type.Null()]),
  retention: RetentionSchema,
  continuousSeconds: Type.Union([Type.Integer(), Type.Null()]),
  createdAt: Time,
  nextRunAt: NullableTime,
  lastSuccessAt: NullableTime,
  lastFailureAt: NullableTime,
  lastError: Type.Union([Type.String(), Type.Null()]),
  snapshots: Type.Integer(),
  logicalBytes: Type.Integer({ description: 'Sum of the image sizes of its snapshots' }),
  storedBytes: Type.Integer({ description: 'Compressed bytes its snapshots added to the repository' }),
  dedupRatio: Type.Union([Type.Number(), Type.Null()]),
});

export const BackupSnapshotSchema = Type.Object({
  id: Type.String(),
  node: Type.Optional(Type.String({ description: 'The node whose repository holds the snapshot' })),
  sourceId: Type.String(),
  sourceName: Type.String(),
  capturedAt: Time,
  trigger: Type.String(),
  pageSize: Type.Integer(),
  pageCount: Type.Integer(),
  logicalBytes: Type.Integer(),
  imageHash: Type.String(),
  addedPages: Type.Integer(),
  addedBytes: Type.Integer(),
  durationMs: Type.Integer(),
  lastVerification: Type.Union([Type.Object({ at: Time, ok: Type.Boolean() }), Type.Null()]),
});

export const BackupVerificationSchema = Type.Object({
  id: Type.Integer(),
  snapshotId: Type.String(),
  sourceId: Type.String(),
  at: Time,
  ok: Type.Boolean(),
  pagesChecked: Type.Integer(),
  badPages: Type.Array(Type.Integer(), { description: 'Page numbers (1-based) that failed, at most 100' }),
  imageHashOk: Type.Boolean(),
  integrity: Type.Array(Type.String(), { description: 'PRAGMA integrity_check output, at most 20 lines' }),
  durationMs: Type.Integer(),
});

export const BackupRestoreSchema = Type.Object({
  id: Type.Integer(),
  snapshotId: Type.String(),
  sourceId: Type.String(),
  target: Type.String(),
  inPlace: Type.Boolean(),
  safetySnapshotId: Type.Union([Type.String(), Type.Null()]),
  at: Time,
  ok: Type.Boolean(),
  error: Type.Union([Type.String(), Type.Null()]),
  durationMs: Type.Integer(),
});

export const BackupPruneSchema = Type.Object({
  id: Type.Integer(),
  at: Time,
  removedSnapshots: Type.Integer(),
  removedPages: Type.Integer(),
  freedBytes: Type.Integer(),
});

export const BackupCancelSchema = Type.Object({
  id: Type.Integer(),
  at: Time,
  sourceId: Type.String(),
  by: Type.String({ description: 'Who cancelled it (audit actor)' }),
  phase: Type.String({ description: 'Where the snapshot was when it stopped (capture, store)' }),
  done: Type.Integer(),
  total: Type.Integer(),
});

export const BackupJobKindSchema = Type.Union([
  Type.Literal('snapshot'),
  Type.Literal('verify'),
  Type.Literal('restore'),
  Type.Literal('prune'),
]);

export const BackupProgressSchema = Type.Object({
  jobId: Type.String(),
  kind: BackupJobKindSchema,
  sourceId: Type.Union([Type.String(), Type.Null()]),
  snapshotId: Type.Union([Type.String(), Type.Null()]),
  phase: Type.String(),
  done: Type.Integer(),
  total: Type.Integer(),
});

export const BackupFinishedSchema = Type.Object({
  jobId: Type.String(),
  kind: BackupJobKindSchema,
  sourceId: Type.Union([Type.String(), Type.Null()]),
  snapshotId: Type.Union([Type.String(), Type.Null()], {
    description:
      'The snapshot the job made (snapshot) or worked on (verify, restore); null for a prune or a snapshot that ended without one',
  }),
  ok: Type.Boolean(),
  cancelled: Type.Boolean({ description: 'An operator stopped it (backup.snapshot.cancel): not ok, and no failure either' }),
  error: Type.Union([Type.String(), Type.Null()]),
});

export const RestoreSelector = {
  snapshotId: Type.Optional(Type.String({ minLength: 1 })),
  sourceId: Type.Optional(Type.String({ minLength: 1, description: 'With `at`: the newest snapshot of this source at or before it' })),
  at: Type.Optional(Time),
  inPlace: Type.Optional(Type.Boolean({ description: 'Replace the source database itself (a safety snapshot is taken first)' })),
  targetPath: Type.Optional(Type.String({ minLength: 1, description: 'Absolute path of a new file to restore into' })),
  force: Type.Optional(
    Type.Boolean({
      description: 'In place: restore even while another process has the database open; that process’s later writes are lost',
    }),
  ),
};

export const BackupRestorePlanSchema = Type.Object({
  snapshot: BackupSnapshotSchema,
  target: Type.String(),
  inPlace: Type.Boolean(),
  safetySnapshot: Type.Boolean(),
  steps: Type.Array(Type.String()),
});

export const BackupKeyStatusSchema = Type.Object({
  encrypted: Type.Boolean(),
  format: Type.String({ description: 'plain, migrating, encrypted, or locked (a wrapped key not yet unlocked)' }),
  wrapped: Type.Boolean({ description: 'The key file is wrapped by a passphrase' }),
  locked: Type.Boolean(),
  keyId: Type.Union([Type.String(), Type.Null()], { description: 'Names the key without revealing it' }),
});

export const BackupReplicaSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  kind: Type.Union([Type.Literal('folder'), Type.Literal('s3'), Type.Literal('sftp'), Type.Literal('peer')]),
  target: Type.String({
    description:
      'Where it is, without credentials: a folder, s3://bucket/prefix at an endpoint, sftp://user@host:port/path, or <node id> at <base URL> (another Pilothouse node)',
  }),
  state: Type.String({ description: 'new, syncing, ok, failed (see lastError) or foreign (it holds another repository)' }),
  createdAt: Time,
  lastSyncAt: NullableTime,
  lastError: Type.Union([Type.String(), Type.Null()]),
  lastVerifiedAt: NullableTime,
  lastVerifyOk: Type.Union([Type.Boolean(), Type.Null()]),
  lastVerifyDetail: Type.Union([Type.String(), Type.Null()]),
  lagSnapshots: Type.Integer({ description: 'Snapshots the replica lacks' }),
  lagBytes: Type.Integer({ description: 'Bytes the replica lacks' }),
  bytesSent: Type.Integer(),
  transfer: Type.Union([
    Type.Object({ done: Type.Integer(), total: Type.Integer(), direction: Type.Union([Type.Literal('push'), Type.Literal('pull')]) }),
    Type.Null(),
  ]),
});
