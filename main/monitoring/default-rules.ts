import type { Static } from '@sinclair/typebox';
import type { AlertRuleSchema } from '../../contract/ops/monitoring';

export type AlertRule = Static<typeof AlertRuleSchema>;

/**
 * The rules a fresh node starts with (seeded once by the migration; admins edit or delete them
 * afterwards). The backup and job series they read are registered with the plane's
 * (main/plane/monitoring.ts); a series with no data leaves its rule inactive.
 */
export const defaultAlertRules: readonly AlertRule[] = [
  {
    id: 'disk-nearly-full',
    name: 'Disk nearly full',
    metric: 'disk.data.used_ratio',
    comparator: '>',
    threshold: 0.9,
    forSeconds: 300,
    severity: 'critical',
    enabled: true,
    description: 'The disk holding the data directory is more than 90% full; the database and backups will soon fail to write.',
  },
  {
    id: 'redis-down',
    name: 'Redis down',
    metric: 'redis.up',
    comparator: '<',
    threshold: 1,
    forSeconds: 30,
    severity: 'critical',
    enabled: true,
    description: 'The node cannot reach Redis: the shared cache, the real-time backplane and the job queue run single-machine or stop.',
  },
  {
    id: 'backup-overdue',
    name: 'Backup overdue',
    metric: 'backup.overdue_seconds',
    comparator: '>',
    threshold: 0,
    forSeconds: 0,
    severity: 'warning',
    enabled: true,
    description: 'No good snapshot within its schedule.',
  },
  {
    id: 'backup-replica-lagging',
    name: 'Backup replica lagging',
    metric: 'backup.replica_lag_snapshots',
    comparator: '>',
    threshold: 0,
    forSeconds: 3600,
    severity: 'warning',
    enabled: true,
    description:
      'A replica of the backup repository has lacked snapshots for an hour: its target is down, full or refusing (see its last error).',
  },
  {
    id: 'event-loop-lagging',
    name: 'Event loop lagging',
    metric: 'system.eventloop_delay_p99_ms',
    comparator: '>',
    threshold: 200,
    forSeconds: 60,
    severity: 'warning',
    enabled: true,
    description: 'Something blocks the main thread for more than 200 ms at a time; every request waits behind it.',
  },
  {
    id: 'error-rate-up',
    name: 'Error rate up',
    metric: 'http.error_ratio',
    comparator: '>',
    threshold: 0.05,
    forSeconds: 120,
    severity: 'warning',
    enabled: true,
    description: 'More than 5% of HTTP requests end in a server error (5xx).',
  },
  {
    id: 'job-backlog',
    name: 'Job backlog growing',
    metric: 'jobs.backlog',
    comparator: '>',
    threshold: 1000,
    forSeconds: 300,
    severity: 'warning',
    enabled: true,
    description: 'More than 1,000 jobs wait for a worker.',
  },
];
