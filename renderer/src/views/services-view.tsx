import { EmptyState, PageHeader } from '../components/ui';

export function ServicesView() {
  return (
    <>
      <PageHeader title="Services" />
      <EmptyState title="Not running on this node yet">Registered LAN services, their health checks and load-balancing stats will show here once the service registry is running.</EmptyState>
    </>
  );
}
