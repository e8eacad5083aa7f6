import { EmptyState, PageHeader } from '../components/ui';

export function CacheView() {
  return (
    <>
      <PageHeader title="Cache" />
      <EmptyState title="Not running on this node yet">Hit and miss rates per tier (memory, Redis, SQLite), the hottest keys, and invalidation by key, tag or namespace will show here once the cache service is running.</EmptyState>
    </>
  );
}
