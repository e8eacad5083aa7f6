import type { ComponentType } from 'react';
import { AlertsView } from './alerts-view';
import { AuditView } from './audit-view';
import { BackupsView } from './backups-view';
import { CacheView } from './cache-view';
import { GraphqlView } from './graphql-view';
import { JobsView } from './jobs-view';
import { OverviewView } from './overview-view';
import { RealtimeView } from './realtime-view';
import { SagasView } from './sagas-view';
import { SecurityView } from './security-view';
import { ServicesView } from './services-view';
import { WebhooksView } from './webhooks-view';

export interface ViewDef {
  readonly id: string;
  readonly label: string;
  readonly component: ComponentType;
}

/** The sidebar, in order. A capability's view is one line here. */
export const views: readonly ViewDef[] = [
  { id: 'overview', label: 'Overview', component: OverviewView },
  { id: 'alerts', label: 'Alerts', component: AlertsView },
  { id: 'cache', label: 'Cache', component: CacheView },
  { id: 'realtime', label: 'Real-time', component: RealtimeView },
  { id: 'jobs', label: 'Jobs', component: JobsView },
  { id: 'sagas', label: 'Sagas', component: SagasView },
  { id: 'backups', label: 'Backups', component: BackupsView },
  { id: 'services', label: 'Services', component: ServicesView },
  { id: 'webhooks', label: 'Webhooks', component: WebhooksView },
  { id: 'security', label: 'Security', component: SecurityView },
  { id: 'audit', label: 'Audit', component: AuditView },
  { id: 'graphql', label: 'GraphQL', component: GraphqlView },
];
