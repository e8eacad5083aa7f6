import type { Static } from '@sinclair/typebox';
import { JobChangedSchema, JobProgressSchema } from './ops/jobs';
import {
  CacheInvalidateRequestSchema,
  CacheInvalidatedSchema,
  CacheWrittenSchema,
  CacheRedisStateSchema,
  CacheStatsSchema,
  CacheWarmProgressSchema,
} from './ops/cache';
import { RealtimeStatsSchema } from './ops/realtime';
import { AuditEntrySchema, RevocationSchema } from './ops/security';
import { FleetRedisEventSchema, ServiceStatusSchema, SystemStatusSchema } from './ops/system';
import { BackupFinishedSchema, BackupProgressSchema } from './ops/backup';
import { AlertSchema, DependencyStatusSchema, SampleSchema } from './ops/monitoring';
import { WebhookDeliveryChangedSchema, WebhookEndpointChangedSchema } from './ops/webhooks';
import { SagaChangedSchema } from './ops/sagas';
import { ServiceDeregisteredSchema, ServiceHealthSchema, InstanceSchema as DiscoveryInstanceSchema } from './ops/discovery';

/**
 * Every event the console listens to, with the least role that may receive it. Events marked
 * `fanout: 'cluster'` describe state the nodes share (the BullMQ queues, revocations): with Redis, the real-time
 * hub carries them to consoles on every node. The rest describe the node that raised them (its
 * store, its backups, its alerts) or are already raised on every node (discovery), and stay local.
 */
export const events = {
  'system.status': { payload: SystemStatusSchema, minRole: 'viewer' },
  'service.state': { payload: ServiceStatusSchema, minRole: 'viewer' },
  'audit.appended': { payload: AuditEntrySchema, minRole: 'operator' },
  // Every node's hub closes the sockets it names, so a revocation made on one node ends them on all.
  'auth.revoked': { payload: RevocationSchema, minRole: 'admin', fanout: 'cluster' },
  'backup.progress': { payload: BackupProgressSchema, minRole: 'viewer' },
  'backup.finished': { payload: BackupFinishedSchema, minRole: 'viewer' },
  'monitoring.alert': { payload: AlertSchema, minRole: 'viewer' },
  'monitoring.dependency': { payload: DependencyStatusSchema, minRole: 'viewer' },
  'monitoring.sample': { payload: SampleSchema, minRole: 'viewer' },
  'service.registered': { payload: DiscoveryInstanceSchema, minRole: 'viewer' },
  'service.health': { payload: ServiceHealthSchema, minRole: 'viewer' },
  'service.deregistered': { payload: ServiceDeregisteredSchema, minRole: 'viewer' },
  'jobs.changed': { payload: JobChangedSchema, minRole: 'viewer', fanout: 'cluster' },
  'jobs.progress': { payload: JobProgressSchema, minRole: 'viewer', fanout: 'cluster' },
  'cache.invalidate': { payload: CacheInvalidateRequestSchema, minRole: 'operator' },
  // They name keys: for operators, as cache.keys is.
  'cache.invalidated': { payload: CacheInvalidatedSchema, minRole: 'operator' },
  'cache.written': { payload: CacheWrittenSchema, minRole: 'operator' },
  'cache.stats': { payload: CacheStatsSchema, minRole: 'viewer' },
  'cache.redis': { payload: CacheRedisStateSchema, minRole: 'viewer' },
  'cache.warm.progress': { payload: CacheWarmProgressSchema, minRole: 'viewer' },
  'realtime.stats': { payload: RealtimeStatsSchema, minRole: 'viewer' },
  // Every node detects an emptied Redis by itself and says so: no need to carry it across nodes.
  'fleet.redis': { payload: FleetRedisEventSchema, minRole: 'viewer' },
  'webhooks.delivery': { payload: WebhookDeliveryChangedSchema, minRole: 'operator' },
  'webhooks.endpoint': { payload: WebhookEndpointChangedSchema, minRole: 'operator' },
  // A saga's state lives on the node that runs it (docs/sagas.md): its consoles hear of it.
  'sagas.changed': { payload: SagaChangedSchema, minRole: 'viewer' },
} as const;

export type Events = typeof events;
export type EventName = keyof Events;
export type EventPayload<N extends EventName> = Static<Events[N]['payload']>;
export type EventMessage = { [N in EventName]: { event: N; payload: EventPayload<N> } }[EventName];

export const eventNames = Object.keys(events) as EventName[];

export function isEventName(name: string): name is EventName {
  return Object.prototype.hasOwnProperty.call(events, name);
}

/** True for events the hub carries to every node's consoles, not only this node's. */
export function fansOutToCluster(name: EventName): boolean {
  return (events[name] as { fanout?: 'cluster' }).fanout === 'cluster';
}
