import { EmptyState, PageHeader } from '../components/ui';

export function BackupsView() {
  return (
    <>
      <PageHeader title="Backups" />
      <EmptyState title="Not running on this node yet">Backup sources, snapshots, verification results and restores will show here once the backup manager is running.</EmptyState>
    </>
  );
}
