import { PhError } from '../../contract/errors';
import type { JobContext, JobQueue } from '../batch';
import type { BackupService, Report } from './backup-service';
import { isScheduled, queueScheduler, readMaintenanceNode } from './backup-schedules';
import type { CatalogueShare } from './catalogue-share';

/**
 * `backup.snapshot` (`{ sourceId }`) and `backup.verify` (`{ snapshotId }`) as durable jobs: queued,
 * placed on the node that owns the source (or holds the snapshot) whichever node enqueued them,
 * found through this node's catalogue first, then the fleet's (`share`); an unknown id is refused at
 * enqueue. Retried and watched with the rest of the work. The backup service still serialises
 * repository writes itself; one job of each type runs at a time per node. A verification that finds
 * damage fails the job (it lands in the dead letters with what was found), since a job that
 * "succeeded" at finding a corrupt snapshot would hide it in the completed list.
 *
 * Source schedules are repeating `backup.snapshot` jobs (`{ sourceId, scheduled: true }`) on the
 * queue's own cron, and each node's maintenance a repeating `backup.maintenance` (`{ node }`): one
 * scheduler for everything. With Redis a schedule is one job fleet-wide, placed like any snapshot
 * on the source's node. Once the types are registered the service hands its schedules to the queue
 * (`useScheduler`, backup-schedules.ts).
 */
export function registerBackupJobs(
  queue: Pick<JobQueue, 'register' | 'get' | 'list' | 'enqueue' | 'cancel'>,
  backup: Pick<BackupService, 'snapshot' | 'verify' | 'catalogue' | 'runScheduled' | 'useScheduler' | 'maintenance'>,
  share: Pick<CatalogueShare, 'ownerOfSource' | 'ownerOfSnapshot'> | null = null,
  nodeId = 'local',
): void {
  const ownerOfSource = async (payload: unknown, here: string): Promise<string> => {
    const id = readSourceId(payload);
    if (backup.catalogue.source(id) !== undefined) return here;
    const owner = await share?.ownerOfSource(id);
    if (owner == null) throw new PhError('PH_BACKUP_SOURCE_NOT_FOUND', `No node owns a backup source ${JSON.stringify(id)}`);
    return owner;
  };
  const ownerOfSnapshot = async (payload: unknown, here: string): Promise<string> => {
    const id = readSnapshotId(payload);
    if (backup.catalogue.snapshot(id) !== undefined) return here;
    const owner = await share?.ownerOfSnapshot(id);
    if (owner == null) throw new PhError('PH_BACKUP_NOT_FOUND', `No node holds a snapshot ${JSON.stringify(id)}`);
    return owner;
  };
  queue.register(
    'backup.snapshot',
    async (payload, ctx) => {
      const sourceId = readSourceId(payload);
      const snapshot = await (
        isScheduled(payload)
          ? backup.runScheduled(sourceId, Date.parse((await queue.get(ctx.id)).runAt), jobProgress(ctx), ctx.signal)
          : backup.snapshot(sourceId, 'manual', jobProgress(ctx), ctx.signal)
      ).catch((err: unknown) => {
        // An operator cancelled it (backup.snapshot.cancel): a retry would undo the cancel.
        if (err instanceof PhError && err.code === 'PH_BACKUP_CANCELLED') throw new PhError('PH_BATCH_JOB_UNRECOVERABLE', err.message);
        throw err;
      });
      ctx.log(`snapshot ${snapshot.id}: ${snapshot.pageCount} pages, ${snapshot.addedPages} new (${snapshot.addedBytes} bytes stored)`);
      return { snapshotId: snapshot.id, pageCount: snapshot.pageCount, addedPages: snapshot.addedPages };
    },
    { concurrency: 1, validatePayload: readSourceId, placement: { owner: ownerOfSource } },
  );
  queue.register(
    'backup.verify',
    async (payload, ctx) => {
      const snapshotId = readSnapshotId(payload);
      const result = await backup.verify(snapshotId, jobProgress(ctx), ctx.signal);
      if (!result.ok)
        throw new PhError(
          'PH_BACKUP_VERIFY_FAILED',
          `Snapshot ${snapshotId} failed verification: ${result.badPages.length} bad pages, image hash ${result.imageHashOk ? 'ok' : 'wrong'}, integrity: ${result.integrity.slice(0, 3).join('; ')}`,
        );
      ctx.log(`snapshot ${snapshotId}: ${result.pagesChecked} pages verified`);
      return { snapshotId, ok: true, pagesChecked: result.pagesChecked };
    },
    { concurrency: 1, validatePayload: readSnapshotId, placement: { owner: ownerOfSnapshot } },
  );
  queue.register(
    'backup.maintenance',
    async (_payload, ctx) => {
      await backup.maintenance();
      ctx.log('pruned, and verified the rolling share of snapshots');
    },
    // Each node's repository is its own: its maintenance runs there.
    { concurrency: 1, validatePayload: readMaintenanceNode, placement: { owner: (payload) => readMaintenanceNode(payload) } },
  );
  backup.useScheduler(queueScheduler(queue, nodeId));
}

function jobProgress(ctx: JobContext): Report {
  return (phase, done, total) => ctx.progress(total === 0 ? 0 : done / total, `${phase}: ${done} of ${total}`);
}

const readSourceId = (payload: unknown): string => readId(payload, 'sourceId', 'backup.snapshot');
const readSnapshotId = (payload: unknown): string => readId(payload, 'snapshotId', 'backup.verify');

function readId(payload: unknown, field: string, type: string): string {
  const value = ((payload ?? {}) as Record<string, unknown>)[field];
  if (typeof value !== 'string' || value === '') throw new PhError('PH_INVALID_INPUT', `${type} takes { ${field}: string }`, { field });
  return value;
}
