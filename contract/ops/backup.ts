import { Type } from '@sinclair/typebox';
import { defineOperation } from '../operation';
import {
  BackupCancelSchema,
  BackupKeyStatusSchema,
  BackupProgressSchema,
  BackupPruneSchema,
  BackupReplicaSchema,
  BackupRestorePlanSchema,
  BackupRestoreSchema,
  BackupSnapshotSchema,
  BackupSourceSchema,
  BackupVerificationSchema,
  RestoreSelector,
  RetentionSchema,
} from './backup-schemas';

// Importers (events, GraphQL names, main/backup) read the shapes from here, as before the split.
export {
  RetentionSchema,
  BackupSourceSchema,
  BackupSnapshotSchema,
  BackupVerificationSchema,
  BackupRestoreSchema,
  BackupPruneSchema,
  BackupCancelSchema,
  BackupJobKindSchema,
  BackupProgressSchema,
  BackupFinishedSchema,
  BackupRestorePlanSchema,
  BackupKeyStatusSchema,
  BackupReplicaSchema,
} from './backup-schemas';

const Passphrase = Type.String({ minLength: 8, maxLength: 1024 });
const Secret = Type.String({ minLength: 1, maxLength: 16_384 });
const ReplicaId = Type.Object({ id: Type.String({ minLength: 1, description: 'Replica id' }) }, { additionalProperties: false });

/** The backup capability's operations: sources, snapshots, verification, restore, prune, the repository key, replicas. */
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
        name: Type.String({ minLength: 1, maxLength: 100, pattern: '\\S', description: 'Something other than spaces' }),
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
      'Stop the snapshot of a source under way between chunks, on the node that owns the source whichever node is asked; it leaves no snapshot and is recorded in that node’s backup.history',
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
        name: Type.String({ minLength: 1, maxLength: 100, pattern: '\\S', description: 'Something other than spaces' }),
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
          Type.String({
            minLength: 1,
            maxLength: 2048,
            description: "peer: the other node's base URL, http(s)://host:port (without it: where LAN discovery heard the node)",
          }),
        ),
        node: Type.Optional(
          Type.String({
            pattern: '^[A-Za-z0-9._-]{1,64}$',
            description:
              "peer: the other node's id (its node.id): found on the LAN by it without a url; learned from its signed answer and pinned when not given",
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
