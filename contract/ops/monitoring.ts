import { Type, type TSchema } from '@sinclair/typebox';
import { defineOperation } from '../operation';

// The last instant a JavaScript Date holds (year 275760): past it no time series reaches and toISOString throws.
const MAX_EPOCH_MS = 8_640_000_000_000_000;

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/** Timing figures of one operation or HTTP route, in milliseconds. */
export const OperationStatsSchema = Type.Object({
  name: Type.String({ description: 'op:<operation> for console operations, http:<METHOD> <route> for HTTP routes, or a capability name' }),
  count: Type.Integer(),
  errors: Type.Integer(),
  errorRatio: Type.Number(),
  meanMs: Type.Number(),
  p50Ms: Type.Number(),
  p95Ms: Type.Number(),
  p99Ms: Type.Number(),
  stddevMs: Type.Number(),
  minMs: Type.Number(),
  maxMs: Type.Number(),
  slowMs: Type.Number({ description: 'The slow-call threshold in force' }),
  slowCalls: Type.Integer(),
});

export const SlowCallSchema = Type.Object({
  name: Type.String(),
  at: Type.String({ format: 'date-time' }),
  durationMs: Type.Number(),
  thresholdMs: Type.Number(),
  ok: Type.Boolean(),
  code: Nullable(Type.String()),
});

export const DependencyStatusSchema = Type.Object({
  name: Type.String(),
  status: Type.Union([Type.Literal('up'), Type.Literal('degraded'), Type.Literal('down'), Type.Literal('unknown')]),
  critical: Type.Boolean({ description: 'When a critical dependency is down the node is not ready' }),
  detail: Type.String(),
  latencyMs: Nullable(Type.Number()),
  since: Type.String({ format: 'date-time', description: 'When it entered this status' }),
  checkedAt: Nullable(Type.String({ format: 'date-time' })),
});

export const SystemSnapshotSchema = Type.Object({
  at: Type.String({ format: 'date-time' }),
  cpuPercent: Type.Number({ description: 'Process CPU over the last interval, 100 = one core' }),
  rssBytes: Type.Number(),
  heapUsedBytes: Type.Number(),
  heapTotalBytes: Type.Number(),
  heapLimitBytes: Type.Number(),
  externalBytes: Type.Number(),
  eventLoopDelayP50Ms: Type.Number(),
  eventLoopDelayP99Ms: Type.Number(),
  eventLoopDelayMaxMs: Type.Number(),
  eventLoopUtilization: Type.Number({ description: '0..1 over the last interval' }),
  gcPauses: Type.Integer({ description: 'GC pauses in the last interval' }),
  gcPauseTotalMs: Type.Number(),
  gcPauseMaxMs: Type.Number(),
  activeHandles: Type.Integer(),
  disks: Type.Array(
    Type.Object({
      label: Type.String(),
      path: Type.String(),
      freeBytes: Type.Number(),
      totalBytes: Type.Number(),
      usedRatio: Type.Number(),
    }),
  ),
});

export const ComparatorSchema = Type.Union(['>', '>=', '<', '<=', '==', '!='].map((c) => Type.Literal(c)));
export const SeveritySchema = Type.Union([Type.Literal('info'), Type.Literal('warning'), Type.Literal('critical')]);

export const AlertRuleSchema = Type.Object({
  id: Type.String({
    minLength: 1,
    maxLength: 80,
    pattern: '^[a-z0-9][a-z0-9._-]*$',
    description: "1-80 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit",
  }),
  name: Type.String({ minLength: 1, maxLength: 120 }),
  metric: Type.String({ minLength: 1, maxLength: 120, description: 'A series name, as monitoring.series lists them' }),
  comparator: ComparatorSchema,
  threshold: Type.Number(),
  forSeconds: Type.Integer({ minimum: 0, maximum: 86_400, description: 'How long the condition must hold before the alert fires' }),
  severity: SeveritySchema,
  enabled: Type.Boolean(),
  description: Type.String({ maxLength: 500 }),
});

export const AlertStateSchema = Type.Union([
  Type.Literal('inactive'),
  Type.Literal('pending'),
  Type.Literal('firing'),
  Type.Literal('resolved'),
]);

export const AlertSchema = Type.Object({
  ruleId: Type.String(),
  name: Type.String(),
  severity: SeveritySchema,
  state: AlertStateSchema,
  metric: Type.String(),
  value: Nullable(Type.Number()),
  threshold: Type.Number(),
  comparator: ComparatorSchema,
  since: Type.String({ format: 'date-time', description: 'When it entered this state' }),
  message: Type.String(),
  acknowledgedAt: Type.Optional(Nullable(Type.String({ format: 'date-time', description: 'When an operator acknowledged this alert' }))),
  acknowledgedBy: Type.Optional(Nullable(Type.String({ description: 'Who acknowledged it (audit actor)' }))),
  silencedUntil: Type.Optional(
    Nullable(Type.String({ format: 'date-time', description: 'Until when its notifications (desktop, webhooks) are held back' })),
  ),
});

/** What operators said about a rule's alert, fleet-wide (docs/fleet.md). */
export const AlertSilenceSchema = Type.Object({
  ruleId: Type.String(),
  acknowledgedAt: Nullable(
    Type.String({ format: 'date-time', description: 'Covers the alert pending or firing at that time, not a later one' }),
  ),
  acknowledgedBy: Nullable(Type.String()),
  silencedUntil: Nullable(Type.String({ format: 'date-time' })),
  silencedBy: Nullable(Type.String()),
});

/** A rule's state on this node, with "no-data" for a rule whose series has had no value. */
export const RuleStatusSchema = Type.Object({
  ruleId: Type.String(),
  state: Type.Union([...AlertStateSchema.anyOf, Type.Literal('no-data')]),
  value: Nullable(Type.Number({ description: 'The series value at the last evaluation' })),
  acknowledged: Type.Boolean({ description: 'The alert pending or firing now was acknowledged' }),
  silence: Nullable(AlertSilenceSchema),
});

export const AlertEventSchema = Type.Object({
  id: Type.Integer(),
  at: Type.String({ format: 'date-time' }),
  ruleId: Type.String(),
  name: Type.String(),
  severity: SeveritySchema,
  state: AlertStateSchema,
  value: Nullable(Type.Number()),
  message: Type.String(),
});

export const SeriesInfoSchema = Type.Object({ name: Type.String(), unit: Type.String(), help: Type.String() });

export const SampleSchema = Type.Object({
  at: Type.String({ format: 'date-time' }),
  values: Type.Record(Type.String(), Nullable(Type.Number())),
});

export const UsageRowSchema = Type.Object({
  keyId: Type.String({ description: 'The API key id, or "(none)" for unauthenticated and console-session calls without a key' }),
  route: Type.String(),
  requests: Type.Integer(),
  errors: Type.Integer(),
  bytesIn: Type.Integer(),
  bytesOut: Type.Integer(),
  tier: Type.String({ description: 'The rate-limit tier the key was on ("" before tiers were counted, "*" when grouped by route)' }),
  refused: Type.Integer({ description: 'Requests the rate limit refused (429)' }),
});

/** Calls of an operation audited by count (docs/security.md), per key, whatever the transport. */
export const OperationUsageRowSchema = Type.Object({
  keyId: Type.String({ description: 'The API key id, or "(none)" for callers without a key (the desktop console, the system)' }),
  operation: Type.String(),
  calls: Type.Integer(),
  errors: Type.Integer(),
});

/** The JSON file `monitoring.usage.export` writes: the report, and the per-key breakdown beside it. */
export const UsageExportJsonSchema = Type.Object({
  from: Type.Integer(),
  to: Type.Integer(),
  rows: Type.Array(UsageRowSchema),
  byKey: Type.Array(Type.Omit(UsageRowSchema, ['route'])),
});

const UsageQuery = {
  from: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_EPOCH_MS, description: 'Epoch ms; default 24 h ago' })),
  to: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_EPOCH_MS, description: 'Epoch ms; default now' })),
  groupBy: Type.Optional(Type.Union([Type.Literal('key'), Type.Literal('route'), Type.Literal('key-route')])),
};

export const monitoringOperations = {
  'monitoring.overview': defineOperation({
    summary: 'Everything the Overview shows first: health of each dependency, firing alerts, the system now, top operations and advice',
    input: Type.Object({}),
    output: Type.Object({
      status: Type.Union([Type.Literal('ok'), Type.Literal('degraded'), Type.Literal('down')]),
      dependencies: Type.Array(DependencyStatusSchema),
      alerts: Type.Array(AlertSchema),
      system: Nullable(SystemSnapshotSchema),
      latest: Nullable(SampleSchema),
      slowest: Type.Array(OperationStatsSchema),
      mostCalled: Type.Array(OperationStatsSchema),
      mostFailing: Type.Array(OperationStatsSchema),
      slowLog: Type.Array(SlowCallSchema, { description: 'The 10 most recent slow calls' }),
      recommendations: Type.Array(Type.String()),
    }),
    minRole: 'viewer',
    mutating: false,
  }),
  'monitoring.operations': defineOperation({
    summary: 'Timing of every operation and HTTP route over the sliding window or since start, with the slow-call log',
    input: Type.Object({ scope: Type.Optional(Type.Union([Type.Literal('window'), Type.Literal('total')])) }),
    output: Type.Object({
      scope: Type.Union([Type.Literal('window'), Type.Literal('total')]),
      windowSeconds: Type.Integer(),
      operations: Type.Array(OperationStatsSchema),
      slowLog: Type.Array(SlowCallSchema),
      slowest: Type.Array(OperationStatsSchema),
      mostCalled: Type.Array(OperationStatsSchema),
      mostFailing: Type.Array(OperationStatsSchema),
      recommendations: Type.Array(Type.String()),
    }),
    minRole: 'viewer',
    mutating: false,
  }),
  'monitoring.thresholds.set': defineOperation({
    summary: 'Set the slow-call threshold of one operation or route (null restores the default)',
    input: Type.Object({
      name: Type.String({ minLength: 1, maxLength: 200 }),
      slowMs: Nullable(Type.Number({ exclusiveMinimum: 0, maximum: 3_600_000 })),
    }),
    output: Type.Object({ name: Type.String(), slowMs: Type.Number() }),
    minRole: 'admin',
    mutating: true,
    audit: 'each',
  }),
  'monitoring.health': defineOperation({
    summary: 'Each dependency (SQLite, Redis, disk, and what capabilities register), its status and since when',
    input: Type.Object({ refresh: Type.Optional(Type.Boolean({ description: 'Probe now instead of returning the last result' })) }),
    output: Type.Object({ dependencies: Type.Array(DependencyStatusSchema) }),
    minRole: 'viewer',
    mutating: false,
  }),
  'monitoring.system': defineOperation({
    summary: 'CPU, memory, event loop, GC, handles and disk, as last sampled',
    input: Type.Object({}),
    output: Type.Object({ system: Nullable(SystemSnapshotSchema) }),
    minRole: 'viewer',
    mutating: false,
  }),
  'monitoring.series': defineOperation({
    summary: 'The metric series kept in history (and usable in alert rules)',
    input: Type.Object({}),
    output: Type.Object({ series: Type.Array(SeriesInfoSchema) }),
    minRole: 'viewer',
    mutating: false,
  }),
  'monitoring.history': defineOperation({
    summary: 'Series over a time range, averaged into steps (raw 10 s, 1-minute and 1-hour roll-ups)',
    input: Type.Object({
      series: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, maxItems: 20 }),
      from: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_EPOCH_MS, description: 'Epoch ms; default one hour ago' })),
      to: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_EPOCH_MS, description: 'Epoch ms; default now' })),
      stepSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400, description: 'Default: the range over about 120 points' })),
    }),
    output: Type.Object({
      from: Type.Integer(),
      to: Type.Integer(),
      stepSeconds: Type.Integer(),
      resolutionSeconds: Type.Integer({ description: 'The stored resolution the points were read from' }),
      series: Type.Array(
        Type.Object({
          name: Type.String(),
          unit: Type.String(),
          points: Type.Array(Type.Object({ t: Type.Integer(), avg: Type.Number(), min: Type.Number(), max: Type.Number() })),
        }),
      ),
    }),
    minRole: 'viewer',
    mutating: false,
  }),
  'monitoring.alerts': defineOperation({
    summary: 'Alert rules and the alerts now pending or firing',
    input: Type.Object({}),
    output: Type.Object({
      rules: Type.Array(AlertRuleSchema),
      active: Type.Array(AlertSchema),
      status: Type.Array(RuleStatusSchema, { description: 'One per rule, in the order of rules' }),
    }),
    minRole: 'viewer',
    mutating: false,
  }),
  'monitoring.alerts.history': defineOperation({
    summary: 'Alert state changes, newest first',
    input: Type.Object({
      limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
      beforeId: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })),
      ruleId: Type.Optional(Type.String()),
    }),
    output: Type.Object({ events: Type.Array(AlertEventSchema) }),
    minRole: 'viewer',
    mutating: false,
  }),
  'monitoring.alerts.save': defineOperation({
    summary: 'Create or replace an alert rule',
    input: Type.Object({ rule: AlertRuleSchema }),
    output: Type.Object({ rule: AlertRuleSchema }),
    minRole: 'admin',
    mutating: true,
    audit: 'each',
  }),
  'monitoring.alerts.delete': defineOperation({
    summary: 'Delete an alert rule; a firing alert of it resolves',
    input: Type.Object({ id: Type.String({ minLength: 1 }) }),
    output: Type.Object({ deleted: Type.Boolean() }),
    minRole: 'admin',
    mutating: true,
    audit: 'each',
  }),
  'monitoring.alerts.acknowledge': defineOperation({
    summary: "Acknowledge a rule's pending or firing alert on every node; a later firing is news again",
    input: Type.Object({ ruleId: Type.String({ minLength: 1, maxLength: 80 }) }),
    output: Type.Object({ silence: AlertSilenceSchema }),
    minRole: 'operator',
    mutating: true,
    audit: 'each',
  }),
  'monitoring.alerts.silence': defineOperation({
    summary: "Hold back a rule's notifications (desktop, webhooks) on every node for a while; 0 seconds lifts the silence",
    input: Type.Object({
      ruleId: Type.String({ minLength: 1, maxLength: 80 }),
      seconds: Type.Integer({ minimum: 0, maximum: 30 * 86_400, description: 'How long from now; at most 30 days' }),
    }),
    output: Type.Object({ silence: AlertSilenceSchema }),
    minRole: 'operator',
    mutating: true,
    audit: 'each',
  }),
  'monitoring.usage': defineOperation({
    summary: 'Requests, errors and bytes per API key and route over a range, and calls per key of the operations audited by count',
    input: Type.Object(UsageQuery),
    output: Type.Object({
      from: Type.Integer(),
      to: Type.Integer(),
      rows: Type.Array(UsageRowSchema),
      operations: Type.Array(OperationUsageRowSchema),
    }),
    minRole: 'operator',
    mutating: false,
  }),
  'monitoring.usage.export': defineOperation({
    summary: 'The usage report as a CSV or JSON file',
    input: Type.Object({ ...UsageQuery, format: Type.Union([Type.Literal('csv'), Type.Literal('json')]) }),
    output: Type.Object({ filename: Type.String(), contentType: Type.String(), content: Type.String() }),
    minRole: 'operator',
    mutating: false,
  }),
} as const;
