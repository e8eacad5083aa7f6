import { Type } from '@sinclair/typebox';
import { defineOperation } from '../operation';

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
    keepWithin: Type.Optional(Type.String({ pattern: '^(\\d+[smhdw])+$', description: 'e.g. 36h, 7d, 1d12h' })),
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
  snapshotId: Type.Union([Type.String(), Type.Null()]),
  ok: Type.Boolean(),
  error: Type.Union([Type.String(), Type.Null()]),
});

const RestoreSelector = {
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

const Passphrase = Type.String({ minLength: 8, maxLength: 1024 });

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

const Secret = Type.String({ minLength: 1, maxLength: 16_384 });
const ReplicaId = Type.Object({ id: Type.String({ minLength: 1, description: 'Replica id' }) }, { additionalProperties: false });

export const backupOperations = {
  'backup.sources.list': defineOperation({
    summary: 'Backup sources with their schedule, last result and sizes, and the repository totals',
    input: Type.Object({}),
    output: Type.Object({
      sources: Type.Array(BackupSourceSchema),
      repository: Type.Object({
        path: Type.String(),
        pages: Type.Integer(),
        packs: Type.Integer(),
        storedBytes: Type.Integer(),
        snapshots: Type.Integer(),
      }),
      running: Type.Array(BackupProgressSchema),
    }),
    minRole: 'viewer',
    mutating: false,
  }),
  'backup.sources.register': defineOperation({
    summary: 'Register a SQLite file to back up; it is checked before anything is recorded',
    input: Type.Object(
      {
        name: Type.String({ minLength: 1, maxLength: 100, pattern: '\\S' }),
        path: Type.String({ minLength: 1, maxLength: 4096 }),
        schedule: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 100 }), Type.Null()])),
        retention: Type.Optional(RetentionSchema),
        continuousSeconds: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 86_400 }), Type.Null()])),
      },
      { additionalProperties: false },
    ),
    output: Type.Object({ source: BackupSourceSchema }),
    minRole: 'admin',
    mutating: true,
    audit: 'each',
  }),
  'backup.sources.update': defineOperation({
    summary: "Change a source's schedule, retention or continuous interval",
    input: Type.Object(
      {
        id: Type.String({ minLength: 1 }),
        schedule: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 100 }), Type.Null()])),
        retention: Type.Optional(RetentionSchema),
        continuousSeconds: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 86_400 }), Type.Null()])),
      },
      { additionalProperties: false },
    ),
    output: Type.Object({ source: BackupSourceSchema }),
    minRole: 'admin',
    mutating: true,
    audit: 'each',
  }),
  'backup.sources.remove': defineOperation({
    summary: 'Stop backing up a source; its snapshots stay until pruned',
    input: Type.Object({ id: Type.String({ minLength: 1 }) }),
    output: Type.Object({ removed: Type.Boolean() }),
    minRole: 'admin',
    mutating: true,
    audit: 'each',
  }),
  'backup.snapshot': defineOperation({
    summary: 'Take a snapshot of a source now',
    input: Type.Object({ id: Type.String({ minLength: 1, description: 'Source id' }) }),
    output: Type.Object({ snapshot: BackupSnapshotSchema }),
    minRole: 'operator',
    mutating: true,
    audit: 'each',
  }),
  'backup.snapshot.cancel': defineOperation({
    summary:
      'Stop the snapshot of a source under way (on this node) between chunks; it leaves no snapshot and is recorded in backup.history',
    input: Type.Object({ sourceId: Type.String({ minLength: 1, maxLength: 200 }) }),
    output: Type.Object({ cancel: BackupCancelSchema }),
    minRole: 'operator',
    mutating: true,
    audit: 'each',
  }),
  'backup.snapshots.list': defineOperation({
    summary: 'Snapshots, newest first',
    input: Type.Object({
      sourceId: Type.Optional(Type.String()),
      limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'Default 200' })),
      offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000, description: 'Snapshots to skip, newest first' })),
    }),
    output: Type.Object({
      snapshots: Type.Array(BackupSnapshotSchema),
      total: Type.Integer({ description: 'Every snapshot of the source (of every source), on every node the list covers' }),
    }),
    minRole: 'viewer',
    mutating: false,
  }),
  'backup.export': defineOperation({
    summary:
      'A snapshot as a plain .sqlite file (admin: it holds the whole database); REST streams it (GET /backups/snapshots/:id/download), other transports get its name and size',
    input: Type.Object({ id: Type.String({ minLength: 1, description: 'Snapshot id' }) }),
    output: Type.Object({ fileName: Type.String(), bytes: Type.Integer() }),
    minRole: 'admin',
    mutating: false,
  }),
  'backup.verify': defineOperation({
    summary: 'Re-read every page of a snapshot, check every hash, the image hash and integrity_check',
    input: Type.Object({ id: Type.String({ minLength: 1, description: 'Snapshot id' }) }),
    output: Type.Object({ verification: BackupVerificationSchema }),
    minRole: 'operator',
    mutating: true,
    audit: 'each',
  }),
  'backup.verifications.list': defineOperation({
    summary: 'Verification results, newest first',
    input: Type.Object({
      snapshotId: Type.Optional(Type.String()),
      snapshotIds: Type.Optional(
        Type.Array(Type.String({ minLength: 1 }), {
          minItems: 1,
          maxItems: 100,
          description: 'The verifications of each of these snapshots in one read, up to `limit` per snapshot (not with snapshotId)',
        }),
      ),
      limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    }),
    output: Type.Object({ verifications: Type.Array(BackupVerificationSchema) }),
    minRole: 'viewer',
    mutating: false,
  }),
  'backup.restore.plan': defineOperation({
    summary: 'What a restore would do (snapshot chosen, target, safety copy), without doing it',
    input: Type.Object(RestoreSelector),
    output: BackupRestorePlanSchema,
    minRole: 'viewer',
    mutating: false,
  }),
  'backup.restore': defineOperation({
    summary: 'Restore a snapshot (or the newest at or before a time) to a new file or in place',
    input: Type.Object(RestoreSelector),
    output: Type.Object({ restore: BackupRestoreSchema }),
    minRole: 'admin',
    mutating: true,
    audit: 'each',
  }),
  'backup.prune': defineOperation({
    summary: "Apply each source's retention, then remove pages no kept snapshot needs",
    input: Type.Object({}),
    output: Type.Object({ prune: BackupPruneSchema, removedSnapshotIds: Type.Array(Type.String()) }),
    minRole: 'operator',
    mutating: true,
    audit: 'each',
  }),
  'backup.history': defineOperation({
    summary: 'Recent restores, prunes and cancelled snapshots, newest first',
    input: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })) }),
    output: Type.Object({
      restores: Type.Array(BackupRestoreSchema),
      prunes: Type.Array(BackupPruneSchema),
      cancelled: Type.Array(BackupCancelSchema),
    }),
    minRole: 'viewer',
    mutating: false,
  }),
  'backup.key.status': defineOperation({
    summary: 'Whether the repository is encrypted, and whether its key is wrapped by a passphrase or locked',
    input: Type.Object({}),
    output: BackupKeyStatusSchema,
    minRole: 'viewer',
    mutating: false,
  }),
  'backup.key.unlock': defineOperation({
    summary: 'Unwrap a passphrase-wrapped repository key (after a start without PILOTHOUSE_BACKUP_PASSPHRASE)',
    input: Type.Object({ passphrase: Passphrase }, { additionalProperties: false }),
    output: BackupKeyStatusSchema,
    minRole: 'admin',
    mutating: true,
    audit: 'each',
  }),
  'backup.key.passphrase': defineOperation({
    summary: 'Wrap the repository key under a passphrase, change it, or (null) store the key unwrapped',
    input: Type.Object(
      { current: Type.Optional(Type.Union([Passphrase, Type.Null()])), passphrase: Type.Union([Passphrase, Type.Null()]) },
      { additionalProperties: false },
    ),
    output: BackupKeyStatusSchema,
    minRole: 'admin',
    mutating: true,
    audit: 'each',
  }),
  'backup.key.export': defineOperation({
    summary: 'The repository master key (base64) for safekeeping off the machine: without it no snapshot or replica can be read',
    input: Type.Object({}),
    output: Type.Object({ keyId: Type.String(), masterKey: Type.String() }),
    minRole: 'admin',
    mutating: true,
    audit: 'each',
  }),
  'backup.replicas.list': defineOperation({
    summary: "The repository's replicas with their state, lag, last verification and running transfer",
    input: Type.Object({}),
    output: Type.Object({ replicas: Type.Array(BackupReplicaSchema) }),
    minRole: 'viewer',
    mutating: false,
  }),
  'backup.replicas.add': defineOperation({
    summary:
      'Add a replica of the repository (a folder, S3-compatible storage, SFTP or another Pilothouse node); the target is checked before anything is recorded',
    input: Type.Object(
      {
        name: Type.String({ minLength: 1, maxLength: 100, pattern: '\\S' }),
        kind: Type.Union([Type.Literal('folder'), Type.Literal('s3'), Type.Literal('sftp'), Type.Literal('peer')]),
        path: Type.Optional(
          Type.String({ minLength: 1, maxLength: 4096, description: 'folder: an absolute folder; sftp: the folder on the server' }),
        ),
        endpoint: Type.Optional(Type.String({ minLength: 1, maxLength: 2048, description: 's3: http(s)://host:port' })),
        bucket: Type.Optional(Type.String({ minLength: 3, maxLength: 63 })),
        prefix: Type.Optional(Type.String({ maxLength: 512, pattern: '^[A-Za-z0-9._/-]*[A-Za-z0-9._-]$|^$' })),
        region: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
        accessKeyId: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
        secretAccessKey: Type.Optional(Secret),
        host: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
        port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65_535 })),
        username: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
        hostKeySha256: Type.Optional(
          Type.String({ minLength: 20, maxLength: 100, description: "The server's host key, as ssh-keygen -l prints it after SHA256:" }),
        ),
        privateKey: Type.Optional(Secret),
        password: Type.Optional(Secret),
        url: Type.Optional(
          Type.String({ minLength: 1, maxLength: 2048, description: "peer: the other node's base URL, http(s)://host:port" }),
        ),
        node: Type.Optional(
          Type.String({
            pattern: '^[A-Za-z0-9._-]{1,64}$',
            description: "peer: the other node's id (its node.id); learned from its signed answer and pinned when not given",
          }),
        ),
        certSha256: Type.Optional(
          Type.String({
            pattern: '^([0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$',
            description: "peer over https: the SHA-256 fingerprint of the node's certificate (as its start-up log prints it), pinned",
          }),
        ),
        apiKey: Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: 'peer: an admin API key of the other node' })),
      },
      { additionalProperties: false },
    ),
    output: Type.Object({ replica: BackupReplicaSchema }),
    minRole: 'admin',
    mutating: true,
    audit: 'each',
  }),
  'backup.replicas.remove': defineOperation({
    summary: 'Forget a replica and its credentials (its files on the target stay)',
    input: ReplicaId,
    output: Type.Object({ removed: Type.Boolean() }),
    minRole: 'admin',
    mutating: true,
    audit: 'each',
  }),
  'backup.replicas.sync': defineOperation({
    summary: 'Send the replica what it lacks now',
    input: ReplicaId,
    output: Type.Object({ replica: BackupReplicaSchema }),
    minRole: 'operator',
    mutating: true,
    audit: 'each',
  }),
  'backup.replicas.verify': defineOperation({
    summary: 'Read sampled pages back from the replica, open and hash each; damaged files are sent again from the local copy',
    input: Type.Object(
      { id: Type.String({ minLength: 1 }), samplePages: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })) },
      { additionalProperties: false },
    ),
    output: Type.Object({
      pagesChecked: Type.Integer(),
      manifestsChecked: Type.Integer(),
      damaged: Type.Array(Type.String()),
      repaired: Type.Array(Type.String()),
    }),
    minRole: 'operator',
    mutating: true,
    audit: 'each',
  }),
  'backup.replicas.restore': defineOperation({
    summary:
      'Fetch from the replica every pack and snapshot the local repository lacks (all of them when it was lost); then restore as usual',
    input: ReplicaId,
    output: Type.Object({ packs: Type.Integer(), snapshots: Type.Integer(), bytes: Type.Integer() }),
    minRole: 'admin',
    mutating: true,
    audit: 'each',
  }),
} as const;
