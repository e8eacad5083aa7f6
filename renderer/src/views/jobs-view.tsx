import { EmptyState, PageHeader } from '../components/ui';

export function JobsView() {
  return (
    <>
      <PageHeader title="Jobs" />
      <EmptyState title="Not running on this node yet">Queued, running and failed jobs with their progress, and batches with their per-operation results, will show here once the job engine is running.</EmptyState>
    </>
  );
}
