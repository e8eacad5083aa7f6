import { Type } from '@sinclair/typebox';
import { defineOperation } from '../operation';

export const ServiceStateSchema = Type.Union([
  Type.Literal('idle'),
  Type.Literal('starting'),
  Type.Literal('running'),
  Type.Literal('degraded'),
  Type.Literal('stopping'),
  Type.Literal('stopped'),
  Type.Literal('failed'),
]);

export const ServiceStatusSchema = Type.Object({
  name: Type.String(),
  state: ServiceStateSchema,
  detail: Type.Optional(Type.String()),
});

export const SystemStatusSchema = Type.Object({
  version: Type.String(),
  startedAt: Type.String({ format: 'date-time' }),
  uptimeSeconds: Type.Number(),
  mode: Type.Union([Type.Literal('desktop'), Type.Literal('headless')]),
  services: Type.Array(ServiceStatusSchema),
  redis: Type.Object({
    configured: Type.Boolean(),
    connected: Type.Boolean(),
    status: Type.String(),
  }),
  tls: Type.Object(
    {
      enabled: Type.Boolean(),
      selfSigned: Type.Boolean(),
      fingerprint256: Type.Union([Type.String(), Type.Null()], {
        description: 'SHA-256 of the certificate the server presents (AB:CD:...): compare it, or pin it in clients',
      }),
    },
    { description: 'Whether the server speaks HTTPS/WSS, and its certificate fingerprint' },
  ),
});

/** How long each kind of history is kept on this node, and the maintenance job that cuts it (docs/retention.md). */
export const RetentionViewSchema = Type.Object({
  schedule: Type.String({ description: 'Cron pattern of the daily maintenance job' }),
  cuts: Type.Array(
    Type.Object(
      { name: Type.String(), tables: Type.Array(Type.String()), keeps: Type.String() },
      { description: 'Cut by the maintenance job' },
    ),
  ),
  capped: Type.Array(Type.Object({ name: Type.String(), keeps: Type.String() }, { description: 'Capped as it is written' })),
  lastRun: Type.Union([
    Type.Object({
      at: Type.String({ format: 'date-time' }),
      cuts: Type.Array(Type.Object({ name: Type.String(), removed: Type.Integer() })),
      freedPages: Type.Integer(),
      bytesBefore: Type.Integer(),
      bytesAfter: Type.Integer(),
    }),
    Type.Null(),
  ]),
});

export const systemOperations = {
  'system.status': defineOperation({
    summary: 'Version, uptime, each service and its state, and whether Redis is connected',
    input: Type.Object({}),
    output: SystemStatusSchema,
    minRole: 'viewer',
    mutating: false,
  }),
  'system.config': defineOperation({
    summary: 'The configuration in force, with secrets left out',
    input: Type.Object({}),
    output: Type.Object({
      host: Type.String(),
      port: Type.Integer(),
      lanAccess: Type.Boolean(),
      dataDir: Type.String(),
      redisConfigured: Type.Boolean(),
      logLevel: Type.String(),
      shutdownDeadlineMs: Type.Integer(),
      tls: Type.Union([Type.Literal('files'), Type.Literal('self-signed'), Type.Literal('off')]),
      publicNames: Type.Array(Type.String()),
      backupRoots: Type.Array(Type.String()),
      allowedTargets: Type.Array(Type.String()),
      sources: Type.Array(Type.String(), { description: 'Where settings came from, lowest precedence first' }),
      retention: RetentionViewSchema,
    }),
    minRole: 'viewer',
    mutating: false,
  }),
} as const;

/** What a node says about the fleet's Redis: it came back empty, or it does not persist writes. */
export const FleetRedisEventSchema = Type.Object({
  kind: Type.Union([Type.Literal('emptied'), Type.Literal('not-durable')]),
  code: Type.Union([Type.String(), Type.Null()]),
  message: Type.String(),
  node: Type.String(),
  at: Type.String(),
});
