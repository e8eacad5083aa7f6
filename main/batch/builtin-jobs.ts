import { PhError } from '../../contract/errors';
import { newId } from '../fleet';
import type { BatchEngine } from './batch-engine';
import type { BatchSpec } from './batch-types';
import type { JobQueue } from './job-types';

/** A `batch.apply` payload: the batch, and the id it is applied under, fixed when the job is enqueued. */
type BatchJobPayload = BatchSpec & { batchId?: string };

/**
 * Job types the engine itself provides. `batch.apply` runs a batch as a job with live progress.
 * Its batch id is a UUIDv7 stamped into the payload at enqueue, so every attempt (a re-run after a
 * crash, or a re-enqueue after Redis lost the job) applies the same batch id and gets the committed
 * report back (or finishes a non-atomic batch where it stopped) instead of applying it twice; an id
 * derived from BullMQ's counter would repeat after Redis restarts and name an older batch.
 * The batch's effects land in one node's database, so the job runs on the node that enqueued it.
 * A batch that did not wholly succeed fails its job, finally (another attempt gets the same report
 * back): a job listed as completed over a rolled-back batch told the operator all was well.
 */
export function registerBuiltinJobs(queue: JobQueue, engine: BatchEngine): void {
  queue.register(
    'batch.apply',
    async (payload, ctx) => {
      const { batchId, ...spec } = payload as BatchJobPayload;
      ctx.progress(0, `${spec.operations.length} operations`);
      const report = await engine.apply(spec, {
        batchId: batchId ?? `job-${ctx.id}`,
        signal: ctx.signal,
        onProgress: (done, total) => ctx.progress(done / total, `${done} of ${total} operations`),
      });
      const summary = `${report.counts.succeeded} succeeded, ${report.counts.failed} failed, ${report.counts.skipped} skipped`;
      ctx.log(`batch ${report.batchId}: ${report.status}, ${summary}`);
      if (report.status !== 'succeeded') {
        const first = report.errors[0];
        const cause = first === undefined ? '' : `; operation ${first.index}: ${first.code}: ${first.message}`;
        throw new PhError('PH_BATCH_JOB_UNRECOVERABLE', `Batch ${report.batchId} ${report.status} (${summary})${cause}`, {
          details: { batchId: report.batchId, status: report.status, counts: report.counts },
        });
      }
      return { batchId: report.batchId, status: report.status, counts: report.counts };
    },
    {
      concurrency: 1,
      placement: { owner: (_payload, here) => here },
      prepare: (payload) => {
        const p = (payload ?? {}) as BatchJobPayload;
        return typeof p.batchId === 'string' && p.batchId !== '' ? p : { ...p, batchId: newId() };
      },
    },
  );
}
