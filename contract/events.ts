import type { Static } from '@sinclair/typebox';
import { AuditEntrySchema } from './ops/security';
import { ServiceStatusSchema, SystemStatusSchema } from './ops/system';
import { BackupFinishedSchema, BackupProgressSchema } from './ops/backup';
import { AlertSchema, DependencyStatusSchema, SampleSchema } from './ops/monitoring';

/** Every event the console listens to, with the least role that may receive it. */
export const events = {
  'system.status': { payload: SystemStatusSchema, minRole: 'viewer' },
  'service.state': { payload: ServiceStatusSchema, minRole: 'viewer' },
  'audit.appended': { payload: AuditEntrySchema, minRole: 'operator' },
  'backup.progress': { payload: BackupProgressSchema, minRole: 'viewer' },
  'backup.finished': { payload: BackupFinishedSchema, minRole: 'viewer' },
  'monitoring.alert': { payload: AlertSchema, minRole: 'viewer' },
  'monitoring.dependency': { payload: DependencyStatusSchema, minRole: 'viewer' },
  'monitoring.sample': { payload: SampleSchema, minRole: 'viewer' },
} as const;

export type Events = typeof events;
export type EventName = keyof Events;
export type EventPayload<N extends EventName> = Static<Events[N]['payload']>;
export type EventMessage = { [N in EventName]: { event: N; payload: EventPayload<N> } }[EventName];

export const eventNames = Object.keys(events) as EventName[];
