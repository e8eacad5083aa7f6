import { Type } from '@sinclair/typebox';
import { defineOperation } from '../operation';

/** An instance's health: the worst of its checks, or `maintenance` while an operator holds it out. */
export const HealthStateSchema = Type.Union([
  Type.Literal('passing'),
  Type.Literal('warning'),
  Type.Literal('critical'),
  Type.Literal('maintenance'),
]);
export const CheckStatusSchema = Type.Union([Type.Literal('passing'), Type.Literal('warning'), Type.Literal('critical')]);
export const StrategySchema = Type.Union([
  Type.Literal('round-robin'),
  Type.Literal('weighted'),
  Type.Literal('least-requests'),
  Type.Literal('random'),
  Type.Literal('consistent-hash'),
]);

const ServiceName = Type.String({
  minLength: 1,
  maxLength: 63,
  pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$',
  description: "1-63 letters, digits, '.', '_' or '-', starting with a letter or digit",
});
const InstanceId = Type.String({
  minLength: 1,
  maxLength: 128,
  pattern: '^[A-Za-z0-9][A-Za-z0-9._:@-]*$',
  description: "1-128 letters, digits, '.', '_', ':', '@' or '-', starting with a letter or digit",
});
const Tag = Type.String({ minLength: 1, maxLength: 64 });

const LABEL = '[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?';
/**
 * A host name (dot-separated labels of up to 63 letters, digits, '_' or '-', an optional final
 * dot) or an IP address: IPv4, or IPv6 without brackets (a `%zone` parses, to be refused by name).
 * Nothing else, so an address can never carry a path, query or port into a URL built from it.
 */
export const HOST_OR_ADDRESS_PATTERN = `^(?:${LABEL}(?:\\.${LABEL})*\\.?|[0-9A-Fa-f.]*:[0-9A-Fa-f.:]*(?:%[A-Za-z0-9._-]{1,32})?)$`;
const HostOrAddress = Type.String({
  minLength: 1,
  maxLength: 253,
  pattern: HOST_OR_ADDRESS_PATTERN,
  description:
    "A host name (dot-separated labels of letters, digits, '_' or '-') or an IP address (IPv4, or IPv6 without brackets); no port, path or scheme",
});
/** Documented as 32 entries, keys up to 64 characters, values up to 512. */
export const MetaSchema = Type.Record(Type.String({ pattern: '^[\\s\\S]{1,64}$' }), Type.String({ maxLength: 512 }), {
  maxProperties: 32,
  additionalProperties: false,
  description: 'Up to 32 entries; each key 1-64 characters, each value up to 512',
});

/** How a check is declared. Timings are in milliseconds; defaults are in docs/discovery.md. */
export const CheckDefinitionSchema = Type.Object(
  {
    id: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$',
        description: "1-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
      }),
    ),
    kind: Type.Union([Type.Literal('http'), Type.Literal('tcp'), Type.Literal('ttl')]),
    /** http: the URL to GET; defaults to http://<address>:<port>/health. */
    url: Type.Optional(Type.String({ minLength: 1, maxLength: 2048, pattern: '^https?://', description: 'An http:// or https:// URL' })),
    method: Type.Optional(Type.Union([Type.Literal('GET'), Type.Literal('HEAD')])),
    /** http: the status that counts as passing; without it any 2xx passes and 429 warns. */
    expectStatus: Type.Optional(Type.Integer({ minimum: 100, maximum: 599 })),
    /** http: bytes of the body kept as output (and read at most). */
    maxBodyBytes: Type.Optional(Type.Integer({ minimum: 0, maximum: 65_536 })),
    /** tcp: host and port to connect to; default the instance's. */
    host: Type.Optional(HostOrAddress),
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65_535 })),
    /** ttl: the instance must heartbeat within this time. */
    ttlMs: Type.Optional(Type.Integer({ minimum: 50, maximum: 86_400_000 })),
    intervalMs: Type.Optional(Type.Integer({ minimum: 20, maximum: 3_600_000 })),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 10, maximum: 60_000 })),
    /** Each interval is stretched or shrunk by up to this share, so checks do not march in step. */
    jitter: Type.Optional(Type.Number({ minimum: 0, maximum: 0.5 })),
    successBeforePassing: Type.Optional(Type.Integer({ minimum: 1, maximum: 20 })),
    failuresBeforeCritical: Type.Optional(Type.Integer({ minimum: 1, maximum: 20 })),
    /** Remove the instance once this check has been critical this long. */
    deregisterAfterMs: Type.Optional(Type.Integer({ minimum: 50, maximum: 30 * 86_400_000 })),
    initialStatus: Type.Optional(CheckStatusSchema),
  },
  { additionalProperties: false },
);

export const CheckHistoryEntrySchema = Type.Object({
  at: Type.String({ format: 'date-time' }),
  status: CheckStatusSchema,
  output: Type.String(),
});

export const CheckStateSchema = Type.Object({
  id: Type.String(),
  kind: Type.Union([Type.Literal('http'), Type.Literal('tcp'), Type.Literal('ttl')]),
  target: Type.String({ description: 'What the check probes, in words: a URL, host:port or "heartbeat every N ms"' }),
  intervalMs: Type.Integer(),
  status: CheckStatusSchema,
  output: Type.String({ description: 'The last result, truncated' }),
  checkedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  changedAt: Type.String({ format: 'date-time' }),
  criticalSince: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  deregisterAfterMs: Type.Union([Type.Integer(), Type.Null()]),
  history: Type.Optional(Type.Array(CheckHistoryEntrySchema, { description: 'Status changes, newest first' })),
});

export const InstanceSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  address: Type.String(),
  port: Type.Integer(),
  tags: Type.Array(Type.String()),
  meta: Type.Record(Type.String(), Type.String()),
  version: Type.Union([Type.String(), Type.Null()]),
  weight: Type.Integer(),
  state: HealthStateSchema,
  maintenance: Type.Union([Type.Object({ reason: Type.String(), since: Type.String({ format: 'date-time' }) }), Type.Null()]),
  registeredAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
  lastHeartbeatAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  checks: Type.Array(CheckStateSchema),
});

export const OutlierPolicySchema = Type.Object(
  {
    consecutiveFailures: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    baseEjectionMs: Type.Optional(Type.Integer({ minimum: 10, maximum: 3_600_000 })),
    maxEjectionMs: Type.Optional(Type.Integer({ minimum: 10, maximum: 86_400_000 })),
    maxEjectionShare: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
  },
  { additionalProperties: false },
);

export const ServicePolicySchema = Type.Object({
  strategy: StrategySchema,
  /** consistent-hash: the request header whose value is the key (the client address when absent). */
  hashHeader: Type.Union([Type.String(), Type.Null()]),
  outlier: Type.Object({
    consecutiveFailures: Type.Integer(),
    baseEjectionMs: Type.Integer(),
    maxEjectionMs: Type.Integer(),
    maxEjectionShare: Type.Number(),
  }),
});

export const HealthCountsSchema = Type.Object(
  {
    passing: Type.Integer(),
    warning: Type.Integer(),
    critical: Type.Integer(),
    maintenance: Type.Integer(),
  },
  { description: 'Instances by their health state (not checks); they add up to `instances`' },
);

export const ServiceSummarySchema = Type.Object({
  name: Type.String(),
  instances: Type.Integer(),
  counts: HealthCountsSchema,
  tags: Type.Array(Type.String()),
  versions: Type.Array(Type.String()),
  policy: ServicePolicySchema,
});

export const InstanceTrafficSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  requests: Type.Integer(),
  errors: Type.Integer(),
  inFlight: Type.Integer(),
  p50Ms: Type.Number(),
  p99Ms: Type.Number(),
  lastError: Type.Union([Type.String(), Type.Null()]),
  ejected: Type.Boolean(),
  ejectedUntil: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  ejections: Type.Integer(),
});

export const DiscoveredServiceSchema = Type.Object({
  fqdn: Type.String(),
  name: Type.String(),
  type: Type.String(),
  host: Type.String(),
  port: Type.Integer(),
  addresses: Type.Array(Type.String()),
  txt: Type.Record(Type.String(), Type.String()),
  firstSeenAt: Type.String({ format: 'date-time' }),
  lastSeenAt: Type.String({ format: 'date-time' }),
  adoptedAs: Type.Union([Type.String(), Type.Null()]),
});

export const InstanceFilterSchema = Type.Object(
  {
    name: Type.Optional(ServiceName),
    tag: Type.Optional(Tag),
    state: Type.Optional(HealthStateSchema),
    /** A semver range (`^1.2`, `>=2 <3`); instances without a version never match one. */
    versionRange: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  },
  { additionalProperties: false },
);

export const RegisterInputSchema = Type.Object(
  {
    name: ServiceName,
    id: Type.Optional(InstanceId),
    address: HostOrAddress,
    port: Type.Integer({ minimum: 1, maximum: 65_535 }),
    tags: Type.Optional(Type.Array(Tag, { maxItems: 32 })),
    meta: Type.Optional(MetaSchema),
    version: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    weight: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    checks: Type.Optional(Type.Array(CheckDefinitionSchema, { maxItems: 8 })),
  },
  { additionalProperties: false },
);

export const discoveryOperations = {
  'services.register': defineOperation({
    summary: 'Register (or re-register) a service instance with its checks; unchanged checks keep their status',
    input: RegisterInputSchema,
    output: Type.Object({ instance: InstanceSchema }),
    minRole: 'operator',
    mutating: true,
    audit: 'each',
  }),
  'services.deregister': defineOperation({
    summary: 'Remove a service instance from the registry',
    input: Type.Object({ id: InstanceId }, { additionalProperties: false }),
    output: Type.Object({ id: Type.String(), name: Type.String() }),
    minRole: 'operator',
    mutating: true,
    audit: 'each',
  }),
  'services.heartbeat': defineOperation({
    summary: 'Report an instance alive: feeds its TTL checks (passing unless a status is given)',
    input: Type.Object(
      {
        id: InstanceId,
        status: Type.Optional(CheckStatusSchema),
        output: Type.Optional(Type.String({ maxLength: 4096 })),
      },
      { additionalProperties: false },
    ),
    output: Type.Object({
      instance: InstanceSchema,
      ttlChecksFed: Type.Integer({
        description: 'The TTL checks this heartbeat fed: 0 when the instance has none, and then only its lastHeartbeatAt moved',
      }),
    }),
    minRole: 'operator',
    // It sets the instance's health, and so whether the balancer picks it: on record, a tally a minute, as beats are many.
    mutating: true,
    audit: 'counted',
  }),
  'services.list': defineOperation({
    summary: 'Instances filtered by service name, tag, health state and version range, with the registry index',
    input: Type.Object(
      {
        ...InstanceFilterSchema.properties,
        order: Type.Optional(
          Type.Union([Type.Literal('name'), Type.Literal('health')], {
            description: 'name (default): by service name, then id; health: critical first, then warning, maintenance, passing',
          }),
        ),
      },
      { additionalProperties: false },
    ),
    output: Type.Object({ index: Type.Integer(), instances: Type.Array(InstanceSchema) }),
    minRole: 'viewer',
    mutating: false,
  }),
  'services.summary': defineOperation({
    summary: 'Each service with its instances counted by health, its tags, versions and balancing policy',
    input: InstanceFilterSchema,
    output: Type.Object({ index: Type.Integer(), services: Type.Array(ServiceSummarySchema) }),
    minRole: 'viewer',
    mutating: false,
  }),
  'services.get': defineOperation({
    summary: "One instance with every check's status, output and history",
    input: Type.Object({ id: InstanceId }, { additionalProperties: false }),
    output: Type.Object({ instance: InstanceSchema }),
    minRole: 'viewer',
    mutating: false,
  }),
  'services.watch': defineOperation({
    summary: 'Long-poll: returns once the registry index passes `index` by a change matching the filter, or when `waitMs` runs out',
    input: Type.Composite([
      InstanceFilterSchema,
      Type.Object({
        index: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
        waitMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 120_000 })),
      }),
    ]),
    output: Type.Object({ index: Type.Integer(), changed: Type.Boolean(), instances: Type.Array(InstanceSchema) }),
    minRole: 'viewer',
    mutating: false,
  }),
  'services.maintenance': defineOperation({
    summary: 'Put an instance into maintenance (never picked) or take it out',
    input: Type.Object(
      { id: InstanceId, enabled: Type.Boolean(), reason: Type.Optional(Type.String({ maxLength: 500 })) },
      { additionalProperties: false },
    ),
    output: Type.Object({ instance: InstanceSchema }),
    minRole: 'operator',
    mutating: true,
    audit: 'each',
  }),
  'services.pick': defineOperation({
    summary: 'Pick a passing instance of a service with its balancing strategy (and a key for consistent hashing)',
    input: Type.Object({ name: ServiceName, key: Type.Optional(Type.String({ maxLength: 512 })) }, { additionalProperties: false }),
    output: Type.Object({ instance: InstanceSchema }),
    minRole: 'viewer',
    mutating: false,
  }),
  'services.configure': defineOperation({
    summary: "Set a service's balancing strategy, hash header and outlier-ejection policy",
    input: Type.Object(
      {
        name: ServiceName,
        strategy: Type.Optional(StrategySchema),
        hashHeader: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9-]+$' }), Type.Null()])),
        outlier: Type.Optional(OutlierPolicySchema),
      },
      { additionalProperties: false },
    ),
    output: Type.Object({ name: Type.String(), policy: ServicePolicySchema }),
    minRole: 'operator',
    mutating: true,
    audit: 'each',
  }),
  'services.traffic': defineOperation({
    summary: 'Gateway traffic per instance (requests, errors, latency) and outlier ejections',
    input: Type.Object({ name: Type.Optional(ServiceName) }, { additionalProperties: false }),
    output: Type.Object({ instances: Type.Array(InstanceTrafficSchema) }),
    minRole: 'viewer',
    mutating: false,
  }),
  'services.discovered': defineOperation({
    summary: 'Services found on the LAN over mDNS/DNS-SD',
    input: Type.Object({}),
    output: Type.Object({ enabled: Type.Boolean(), services: Type.Array(DiscoveredServiceSchema) }),
    minRole: 'viewer',
    mutating: false,
  }),
  'services.adopt': defineOperation({
    summary: 'Register a discovered LAN service in the registry, with a check',
    input: Type.Object(
      {
        fqdn: Type.String({ minLength: 1, maxLength: 300 }),
        name: Type.Optional(ServiceName),
        address: Type.Optional(HostOrAddress),
        check: Type.Optional(CheckDefinitionSchema),
      },
      { additionalProperties: false },
    ),
    output: Type.Object({ instance: InstanceSchema }),
    minRole: 'operator',
    mutating: true,
    audit: 'each',
  }),
} as const;

/** `service.health`: an instance's state changed (a check result crossed its threshold, or maintenance). */
export const ServiceHealthSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  state: HealthStateSchema,
  previous: HealthStateSchema,
  check: Type.Union([Type.Object({ id: Type.String(), status: CheckStatusSchema, output: Type.String() }), Type.Null()]),
  at: Type.String({ format: 'date-time' }),
});

/** `service.deregistered`: an instance left the registry, by request or because it stayed critical. */
export const ServiceDeregisteredSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  reason: Type.String(),
  at: Type.String({ format: 'date-time' }),
});
