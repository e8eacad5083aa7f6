/**
 * The `retention` setting: how long each kind of history is kept. Its schema (a window is whole days
 * or a duration such as "30m"), the defaults, and the milliseconds every cut works in (docs/retention.md).
 */
import { Type, type Static } from '@sinclair/typebox';

const SECOND = 1000;
const UNIT_MS = { s: SECOND, m: 60 * SECOND, h: 3600 * SECOND, d: 86_400 * SECOND } as const;
const DAY_MS = UNIT_MS.d;

/**
 * The shortest age window a duration may give. Shorter would cut rows while the request that wrote
 * them is still being read back (a batch report, a job's result); a minute is still short enough for
 * the soak bench to see the cuts run within its ten minutes.
 */
const MIN_WINDOW_MS = 60 * SECOND;
const MAX_WINDOW_MS = 36_500 * DAY_MS;

/**
 * An age window: a whole number of days (as every `*Days` setting always took), or a duration such
 * as `"12h"`, `"30m"` or `"90s"`, at least a minute, for a node that must keep less than a day.
 */
const ageWindow = (description: string) =>
  Type.Union([Type.Integer({ minimum: 1, maximum: 36_500 }), Type.String({ pattern: '^[1-9][0-9]{0,8}[smhd]$' })], {
    description: `${description}: whole days, or a duration such as "12h" or "30m" (at least 1 minute)`,
  });

export const RetentionSchema = Type.Object(
  {
    auditDays: Type.Optional(ageWindow('Audit rows older than this are cut')),
    auditRows: Type.Optional(Type.Integer({ minimum: 1000, maximum: 1e9, description: 'At most this many audit rows are kept' })),
    auditArchive: Type.Optional(
      Type.Boolean({ description: 'Write cut audit rows to <data-dir>/audit-archive/ (gzip JSONL, verifiable on its own) first' }),
    ),
    batchDays: Type.Optional(ageWindow('Ended batches and their per-operation records')),
    completedJobDays: Type.Optional(ageWindow('Completed and cancelled jobs')),
    completedJobCount: Type.Optional(
      Type.Integer({ minimum: 10, maximum: 10_000_000, description: 'At most this many completed and cancelled jobs are kept' }),
    ),
    failedJobDays: Type.Optional(ageWindow('Dead (failed) jobs')),
    failedJobCount: Type.Optional(
      Type.Integer({ minimum: 10, maximum: 10_000_000, description: 'At most this many dead (failed) jobs are kept' }),
    ),
    usageDays: Type.Optional(ageWindow('Usage per key, route and operation')),
    metricDays: Type.Optional(Type.Integer({ minimum: 7, maximum: 3650, description: 'Hourly metric roll-ups' })),
    webhookDeliveryDays: Type.Optional(ageWindow('Ended webhook deliveries and attempts')),
    verificationDays: Type.Optional(ageWindow('Backup verifications and prune records (the latest per snapshot stays)')),
    maintenanceCron: Type.Optional(
      Type.String({ minLength: 9, maxLength: 100, description: 'When the maintenance job runs the cuts and reclaims space' }),
    ),
  },
  { additionalProperties: false },
);

export type RetentionSetting = Static<typeof RetentionSchema>;

/** How long each kind of history is kept, every default filled in and every window in milliseconds (docs/retention.md). */
export interface Retention {
  readonly auditMs: number;
  readonly auditRows: number;
  readonly auditArchive: boolean;
  readonly batchMs: number;
  readonly completedJobMs: number;
  readonly completedJobCount: number;
  readonly failedJobMs: number;
  readonly failedJobCount: number;
  readonly usageMs: number;
  readonly metricMs: number;
  readonly webhookDeliveryMs: number;
  readonly verificationMs: number;
  readonly maintenanceCron: string;
}

const retentionDefaults: Required<RetentionSetting> = {
  auditDays: 365,
  auditRows: 1_000_000,
  auditArchive: false,
  batchDays: 7,
  completedJobDays: 1,
  completedJobCount: 1000,
  failedJobDays: 7,
  failedJobCount: 10_000,
  usageDays: 90,
  metricDays: 90,
  webhookDeliveryDays: 30,
  verificationDays: 90,
  maintenanceCron: '17 3 * * *',
};

/** A window setting in milliseconds: days as a number, or a `<n><s|m|h|d>` duration. */
export function windowMs(value: number | string): number {
  if (typeof value === 'number') return value * DAY_MS;
  const unit = value.slice(-1) as keyof typeof UNIT_MS;
  return Number(value.slice(0, -1)) * UNIT_MS[unit];
}

const WINDOW_FIELDS = [
  'auditDays',
  'batchDays',
  'completedJobDays',
  'failedJobDays',
  'usageDays',
  'webhookDeliveryDays',
  'verificationDays',
] as const;

/** What the schema cannot say: a duration's bounds. The first window out of bounds, or null. */
export function retentionProblem(setting: RetentionSetting | undefined): { field: string; message: string } | null {
  for (const field of WINDOW_FIELDS) {
    const value = setting?.[field];
    if (typeof value !== 'string') continue;
    const ms = windowMs(value);
    if (ms < MIN_WINDOW_MS || ms > MAX_WINDOW_MS)
      return { field: `retention.${field}`, message: `must be between 1 minute and 36500 days (got ${JSON.stringify(value)})` };
  }
  return null;
}

export function retentionOf(setting: RetentionSetting | undefined): Retention {
  const s = { ...retentionDefaults, ...setting };
  return {
    auditMs: windowMs(s.auditDays),
    auditRows: s.auditRows,
    auditArchive: s.auditArchive,
    batchMs: windowMs(s.batchDays),
    completedJobMs: windowMs(s.completedJobDays),
    completedJobCount: s.completedJobCount,
    failedJobMs: windowMs(s.failedJobDays),
    failedJobCount: s.failedJobCount,
    usageMs: windowMs(s.usageDays),
    metricMs: s.metricDays * DAY_MS,
    webhookDeliveryMs: windowMs(s.webhookDeliveryDays),
    verificationMs: windowMs(s.verificationDays),
    maintenanceCron: s.maintenanceCron,
  };
}
