import { join } from 'node:path';
import { backupRetentionCuts } from './backup';
import { batchRetentionCuts, type BatchRetention } from './batch';
import type { Clock } from './clock';
import type { Config } from './config';
import { retentionOf, type Retention } from './retention-config';
import { CHANGES_KEPT, HISTORY_PER_CHECK } from './discovery';
import type { Logger } from './logger';
import { MAX_ALERT_EVENTS, monitoringRetentionCuts, type Monitoring } from './monitoring';
import { hubOptions, type HubOptions } from './realtime';
import { AuditRetention, type AuditLog } from './security';
import { Maintenance } from './system';
import type { Database } from './store';
import { webhookRetentionCut, type WebhookService } from './webhooks';

/** The retention settings as each capability takes them, in milliseconds. */
export interface RetentionSettings {
  readonly retention: Retention;
  readonly batch: BatchRetention;
  readonly metricHourMs: number;
  readonly usageMs: number;
  readonly webhookDeliveryMs: number;
}

export function retentionSettings(config: Config): RetentionSettings {
  const retention = retentionOf(config.retention);
  return {
    retention,
    batch: {
      batchMs: retention.batchMs,
      jobs: {
        keepCompletedMs: retention.completedJobMs,
        keepCompletedCount: retention.completedJobCount,
        keepDeadMs: retention.failedJobMs,
        keepDeadCount: retention.failedJobCount,
      },
    },
    metricHourMs: retention.metricMs,
    usageMs: retention.usageMs,
    webhookDeliveryMs: retention.webhookDeliveryMs,
  };
}

export interface MaintenancePlanDeps {
  readonly settings: RetentionSettings;
  readonly dataDir: string;
  readonly db: Database;
  readonly dbPath: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly audit: AuditLog;
  /** The node's own audit key (signs archives). */
  readonly auditKey: Buffer;
  /** The chain's name in a fleet, or null on a single machine. */
  readonly auditNode: string | null;
  readonly monitoring: Monitoring;
  readonly webhooks: WebhookService;
  readonly realtime: Partial<HubOptions>;
}

/**
 * Every history this node keeps, and how it is bounded: the cuts the maintenance job runs (by the
 * config's `retention`) and the histories their capability caps as it writes (docs/retention.md).
 */
export function buildMaintenance(deps: MaintenancePlanDeps): Maintenance {
  const { retention, batch } = deps.settings;
  const audit = new AuditRetention(deps.db, deps.audit, deps.clock, deps.auditNode, deps.auditKey);
  const hub = hubOptions(deps.realtime);
  return new Maintenance({
    db: deps.db,
    dbPath: deps.dbPath,
    clock: deps.clock,
    logger: deps.logger.child({ component: 'maintenance' }),
    cron: retention.maintenanceCron,
    cuts: [
      audit.asCut({
        maxAgeMs: retention.auditMs,
        maxRows: retention.auditRows,
        archiveDir: retention.auditArchive ? join(deps.dataDir, 'audit-archive') : null,
      }),
      ...batchRetentionCuts(deps.db, batch),
      ...monitoringRetentionCuts(deps.monitoring.history, deps.monitoring.usage),
      webhookRetentionCut(deps.webhooks),
      ...backupRetentionCuts(deps.db, retention.verificationMs),
    ],
    capped: [
      {
        name: 'real-time room history',
        keeps: `${hub.historyMaxCount} messages a room, ${Math.round(hub.historyMaxAgeMs / 60_000)} minutes`,
      },
      { name: 'alert history', keeps: `the newest ${MAX_ALERT_EVENTS} state changes` },
      { name: 'health-check history', keeps: `the newest ${HISTORY_PER_CHECK} results a check` },
      { name: 'registry change log', keeps: `the newest ${CHANGES_KEPT} changes` },
      { name: 'job results (fleet)', keeps: '7 days: the guard against a second run of a job id' },
    ],
  });
}
