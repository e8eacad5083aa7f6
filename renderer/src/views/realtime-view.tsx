import { EmptyState, PageHeader } from '../components/ui';

export function RealtimeView() {
  return (
    <>
      <PageHeader title="Real-time" />
      <EmptyState title="Not running on this node yet">Connected clients, rooms, presence and message rates of the real-time hub will show here once it is running.</EmptyState>
    </>
  );
}
