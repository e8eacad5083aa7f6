import type { BatchEngine } from './batch-engine';
import type { BatchSpec } from './batch-types';
import type { JobQueue } from './job-types';

/**
 * Job types the engine itself provides. `batch.apply` runs a batch as a job with live progress; its
 * batch id is derived from the job id, so a re-run after a crash returns the committed report (or
 * finishes a non-atomic batch where it stopped) instead of applying it twice.
 */
export function registerBuiltinJobs(queue: JobQueue, engine: BatchEngine): void {
  queue.register(
    'batch.apply',
    async (payload, ctx) => {
      const spec = payload as BatchSpec;
      ctx.progress(0, `${spec.operations.length} operations`);
      const report = await engine.apply(spec, {
        batchId: `job-${ctx.id}`,
        signal: ctx.signal,
        onProgress: (done, total) => ctx.progress(done / total, `${done} of ${total} operations`),
      });
      ctx.log(`batch ${report.batchId}: ${report.status}, ${report.counts.succeeded} succeeded, ${report.counts.failed} failed`);
      return { batchId: report.batchId, status: report.status, counts: report.counts };
    },
    { concurrency: 1 },
  );
}
