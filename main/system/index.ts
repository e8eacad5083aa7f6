export { MAINTENANCE_JOB, Maintenance, type CappedHistory, type MaintenanceReport } from './maintenance';
export { systemHandlers, type RetentionView, type SystemStatus } from './operations';
export { StatusPublisher } from './status-publisher';
