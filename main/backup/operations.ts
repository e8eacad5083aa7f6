import { statSync } from 'node:fs';
import { PhError } from '../../contract/errors';
import { withFile, type HandlersFor } from '../core';
import type { BackupService } from './backup-service';
import type { CatalogueShare } from './catalogue-share';
import { heldElsewhere } from './held-elsewhere';
import type { ReplicaView } from './replica-manager';
import type { SnapshotCancelRelay } from './snapshot-cancel-relay';
import type { BackupReplica, BackupSnapshot, BackupSource } from './types';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** Where a replica is, without its credentials. */
function describeTarget(r: ReplicaView): string {
  const t = r.target;
  if (r.kind === 'folder') return t.path ?? '';
  if (r.kind === 's3') return `s3://${t.bucket ?? ''}/${t.prefix ?? ''} at ${t.endpoint ?? ''}`;
  if (r.kind === 'peer') return `${t.node ?? 'a node'} at ${t.url ?? 'its LAN address (mDNS)'}`;
  return `sftp://${t.username ?? ''}@${t.host ?? ''}:${t.port ?? 22}${t.path ?? ''}`;
}

function replicaDto(r: ReplicaView): BackupReplica {
  return {
    id: r.id,
    name: r.name,
    kind: r.kind,
    target: describeTarget(r),
    state: r.state,
    createdAt: new Date(r.createdAt).toISOString(),
    lastSyncAt: iso(r.lastSyncAt),
    lastError: r.lastError,
    lastVerifiedAt: iso(r.lastVerifiedAt),
    lastVerifyOk: r.lastVerifyOk,
    lastVerifyDetail: r.lastVerifyDetail,
    lagSnapshots: r.lagSnapshots,
    lagBytes: r.lagBytes,
    bytesSent: r.bytesSent,
    transfer: r.transfer,
  };
}

export type BackupOperationName =
  | 'backup.sources.list'
  | 'backup.sources.register'
  | 'backup.sources.update'
  | 'backup.sources.remove'
  | 'backup.snapshot'
  | 'backup.snapshots.list'
  | 'backup.snapshot.cancel'
  | 'backup.export'
  | 'backup.verify'
  | 'backup.verifications.list'
  | 'backup.restore.plan'
  | 'backup.restore'
  | 'backup.prune'
  | 'backup.history'
  | 'backup.key.status'
  | 'backup.key.unlock'
  | 'backup.key.passphrase'
  | 'backup.key.export'
  | 'backup.replicas.list'
  | 'backup.replicas.add'
  | 'backup.replicas.remove'
  | 'backup.replicas.sync'
  | 'backup.replicas.verify'
  | 'backup.replicas.restore';

/**
 * With a fleet share, the lists are fleet-wide: this node's own entries (read from its SQLite, so
 * always current) and the other nodes' from Redis, each with its node; without Redis, this node's.
 */
export function backupHandlers(
  backup: BackupService,
  share: CatalogueShare | null = null,
  cancels: Pick<SnapshotCancelRelay, 'cancel'> | null = null,
): HandlersFor<BackupOperationName> {
  const sources = async (): Promise<BackupSource[]> => {
    const mine = backup.listSources().map((s) => (share === null ? s : { ...s, node: share.node }));
    if (share === null) return mine;
    const others = await share.sources().catch(() => []);
    return [...mine, ...others.filter((s) => s.node !== share.node)];
  };
  /** A page of the merged list: the first offset+limit of each side hold every row of the page. */
  const snapshots = async (
    sourceId: string | undefined,
    limit: number,
    offset: number,
  ): Promise<{ snapshots: BackupSnapshot[]; total: number }> => {
    if (share === null) return { snapshots: backup.listSnapshots(sourceId, limit, offset), total: backup.countSnapshots(sourceId) };
    const mine = backup.listSnapshots(sourceId, offset + limit).map((s) => ({ ...s, node: share.node }));
    const others = (await share.snapshots(sourceId, Number.MAX_SAFE_INTEGER).catch(() => [])).filter((s) => s.node !== share.node);
    const page = [...mine, ...others]
      .sort((a, b) => b.capturedAt.localeCompare(a.capturedAt) || b.id.localeCompare(a.id))
      .slice(offset, offset + limit);
    return { snapshots: page, total: backup.countSnapshots(sourceId) + others.length };
  };
  const here = heldElsewhere(share);
  return {
    'backup.sources.list': async () => ({ sources: await sources(), repository: backup.repositoryStats(), running: backup.running() }),
    'backup.sources.register': (input) => ({ source: backup.registerSource(input) }),
    'backup.sources.update': (input) => here({ sourceId: input.id }, () => ({ source: backup.updateSource(input) })),
    'backup.sources.remove': (input) => here({ sourceId: input.id }, () => ({ removed: backup.removeSource(input.id) })),
    'backup.snapshot': (input) => here({ sourceId: input.id }, async () => ({ snapshot: await backup.snapshot(input.id, 'manual') })),
    // In a fleet the cancel goes to the node the snapshot runs on (snapshot-cancel-relay.ts).
    'backup.snapshot.cancel': async (input, caller) => ({
      cancel: cancels === null ? backup.cancelSnapshot(input.sourceId, caller.actor) : await cancels.cancel(input.sourceId, caller.actor),
    }),
    'backup.snapshots.list': (input) => snapshots(input.sourceId, input.limit ?? 200, input.offset ?? 0),
    'backup.export': async (input) => {
      const image = await here({ snapshotId: input.id }, () => backup.exportImage(input.id));
      let bytes: number;
      try {
        bytes = statSync(image.path).size;
      } catch (err) {
        image.done();
        throw err;
      }
      const file = { path: image.path, fileName: image.fileName, contentType: 'application/vnd.sqlite3', done: image.done };
      return withFile({ fileName: image.fileName, bytes }, file);
    },
    'backup.verify': (input) => here({ snapshotId: input.id }, async () => ({ verification: await backup.verify(input.id) })),
    'backup.verifications.list': (input) => {
      if (input.snapshotIds !== undefined && input.snapshotId !== undefined)
        throw new PhError('PH_INVALID_INPUT', 'Name one snapshot (snapshotId) or several (snapshotIds), not both', {
          field: 'snapshotIds',
        });
      return { verifications: backup.listVerifications(input.snapshotIds ?? input.snapshotId, input.limit ?? 200) };
    },
    'backup.restore.plan': (input) => here(input, () => backup.planRestore(input)),
    'backup.restore': (input) => here(input, async () => ({ restore: await backup.restore(input) })),
    'backup.prune': () => backup.prune(),
    'backup.history': (input) => backup.history(input.limit ?? 50),
    'backup.key.status': () => backup.keyStatus(),
    'backup.key.unlock': (input) => backup.unlockKey(input.passphrase),
    'backup.key.passphrase': (input) => backup.setKeyPassphrase(input.current ?? null, input.passphrase),
    'backup.key.export': () => backup.exportKey(),
    'backup.replicas.list': () => ({ replicas: backup.replicas.list().map(replicaDto) }),
    'backup.replicas.add': async (input) => ({ replica: replicaDto(await backup.replicas.add(input)) }),
    'backup.replicas.remove': (input) => ({ removed: backup.replicas.remove(input.id) }),
    'backup.replicas.sync': async (input) => ({ replica: replicaDto(await backup.replicas.sync(input.id)) }),
    'backup.replicas.verify': (input) => backup.replicas.verify(input.id, input.samplePages),
    'backup.replicas.restore': (input) => backup.replicas.restoreFrom(input.id),
  };
}
