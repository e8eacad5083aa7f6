import { Type } from '@sinclair/typebox';
import { defineOperation } from '../operation';

/**
 * What a webhook endpoint can subscribe to: each one is derived from a contract event (a job ending,
 * a backup, an alert, a health change, a revoked key) or is the webhooks' own (`webhook.ping`, sent
 * by a test; `webhook.endpoint.disabled`, sent to the other endpoints when one is turned off).
 */
export const webhookEventTypes = [
  'job.finished',
  'job.dead',
  'backup.done',
  'backup.failed',
  'backup.cancelled',
  'alert.fired',
  'alert.resolved',
  'service.health',
  'service.deregistered',
  'key.revoked',
  'webhook.endpoint.disabled',
  'webhook.ping',
] as const;

export type WebhookEventType = (typeof webhookEventTypes)[number];

export const WebhookEventTypeSchema = Type.Union(webhookEventTypes.map((t) => Type.Literal(t)));

const FilterValue = Type.Union([Type.String({ maxLength: 200 }), Type.Number(), Type.Boolean()]);
/** Equality on top-level fields of the event's data: `{ "type": "backup.snapshot" }` sends only those jobs. */
export const WebhookFilterSchema = Type.Record(Type.String({ minLength: 1, maxLength: 100 }), FilterValue, { maxProperties: 20 });

export const WebhookEndpointSchema = Type.Object({
  id: Type.String(),
  url: Type.String(),
  description: Type.String(),
  eventTypes: Type.Array(WebhookEventTypeSchema),
  filter: WebhookFilterSchema,
  enabled: Type.Boolean(),
  disabledReason: Type.Union([Type.String(), Type.Null()]),
  /** Secrets that still sign (1, or 2 during a rotation's overlap); the secrets themselves are never listed. */
  activeSecrets: Type.Integer(),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
});

export const WebhookDeliveryStatusSchema = Type.Union([
  Type.Literal('pending'),
  Type.Literal('retrying'),
  Type.Literal('delivered'),
  Type.Literal('failed'),
]);

export const WebhookAttemptSchema = Type.Object({
  attempt: Type.Integer(),
  at: Type.String({ format: 'date-time' }),
  statusCode: Type.Union([Type.Integer(), Type.Null()]),
  durationMs: Type.Integer(),
  error: Type.Union([Type.String(), Type.Null()]),
  /** The first bytes of the receiver's answer (capped). */
  response: Type.Union([Type.String(), Type.Null()]),
});

export const WebhookDeliverySchema = Type.Object({
  id: Type.String(),
  endpointId: Type.String(),
  /** The `webhook-id` header: the event's id, the same on every attempt and redelivery. */
  eventId: Type.String(),
  eventType: WebhookEventTypeSchema,
  status: WebhookDeliveryStatusSchema,
  attempts: Type.Integer(),
  lastStatus: Type.Union([Type.Integer(), Type.Null()]),
  lastError: Type.Union([Type.String(), Type.Null()]),
  nextAttemptAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  createdAt: Type.String({ format: 'date-time' }),
  finishedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  /** The JSON body sent (the same bytes on every attempt). */
  body: Type.String(),
  log: Type.Array(WebhookAttemptSchema),
});

/** `webhooks.delivery`: a delivery changed state (for live views). */
export const WebhookDeliveryChangedSchema = Type.Object({
  id: Type.String(),
  endpointId: Type.String(),
  eventType: Type.String(),
  status: WebhookDeliveryStatusSchema,
  attempts: Type.Integer(),
  lastStatus: Type.Union([Type.Integer(), Type.Null()]),
});

/** `webhooks.endpoint`: an endpoint was turned off (410, or failing for the whole retry window). */
export const WebhookEndpointChangedSchema = Type.Object({
  id: Type.String(),
  url: Type.String(),
  enabled: Type.Boolean(),
  reason: Type.Union([Type.String(), Type.Null()]),
});

const Url = Type.String({ minLength: 8, maxLength: 2000, pattern: '^https?://', description: 'An http:// or https:// URL' });
const Id = Type.String({ minLength: 1, maxLength: 100 });

export const webhooksOperations = {
  'webhooks.list': defineOperation({
    summary: 'Webhook endpoints, with the event types they receive and whether they are enabled',
    input: Type.Object({}),
    output: Type.Object({ endpoints: Type.Array(WebhookEndpointSchema), eventTypes: Type.Array(WebhookEventTypeSchema) }),
    minRole: 'operator',
    mutating: false,
  }),
  'webhooks.create': defineOperation({
    summary: 'Register a webhook endpoint; its signing secret (whsec_…) is returned this once',
    input: Type.Object(
      {
        url: Url,
        eventTypes: Type.Array(WebhookEventTypeSchema, { minItems: 1, maxItems: 20 }),
        filter: Type.Optional(WebhookFilterSchema),
        description: Type.Optional(Type.String({ maxLength: 200 })),
      },
      { additionalProperties: false },
    ),
    output: Type.Object({ endpoint: WebhookEndpointSchema, secret: Type.String() }),
    minRole: 'admin',
    mutating: true,
    audit: 'each',
  }),
  'webhooks.update': defineOperation({
    summary: 'Change an endpoint: URL, event types, filter, description, or enable it again',
    input: Type.Object(
      {
        id: Id,
        url: Type.Optional(Url),
        eventTypes: Type.Optional(Type.Array(WebhookEventTypeSchema, { minItems: 1, maxItems: 20 })),
        filter: Type.Optional(WebhookFilterSchema),
        description: Type.Optional(Type.String({ maxLength: 200 })),
        enabled: Type.Optional(Type.Boolean()),
      },
      { additionalProperties: false },
    ),
    output: Type.Object({ endpoint: WebhookEndpointSchema }),
    minRole: 'admin',
    mutating: true,
    audit: 'each',
  }),
  'webhooks.delete': defineOperation({
    summary: 'Remove an endpoint, its secrets and its delivery log',
    input: Type.Object({ id: Id }),
    output: Type.Object({ deleted: Type.Boolean() }),
    minRole: 'admin',
    mutating: true,
    audit: 'each',
  }),
  'webhooks.rotate': defineOperation({
    summary: 'Give an endpoint a new secret; the old one keeps signing (both signatures sent) for the overlap',
    input: Type.Object({ id: Id, overlapSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 30 * 86_400 })) }),
    output: Type.Object({
      endpoint: WebhookEndpointSchema,
      secret: Type.String(),
      previousExpiresAt: Type.Union([Type.String(), Type.Null()]),
    }),
    minRole: 'admin',
    mutating: true,
    audit: 'each',
  }),
  'webhooks.test': defineOperation({
    summary: 'Send a signed webhook.ping to an endpoint through the delivery queue',
    input: Type.Object({ id: Id }),
    output: Type.Object({ delivery: WebhookDeliverySchema }),
    minRole: 'operator',
    mutating: true,
    audit: 'each',
  }),
  'webhooks.deliveries': defineOperation({
    summary: 'Recent deliveries of an endpoint (or of all), newest first, with each attempt',
    input: Type.Object({
      endpointId: Type.Optional(Id),
      status: Type.Optional(WebhookDeliveryStatusSchema),
      limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, description: 'Default 50' })),
      offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000, description: 'Deliveries to skip, newest first' })),
    }),
    output: Type.Object({
      deliveries: Type.Array(WebhookDeliverySchema),
      total: Type.Integer({ description: 'Every delivery the filters match, on every page' }),
    }),
    minRole: 'operator',
    mutating: false,
  }),
  'webhooks.redeliver': defineOperation({
    summary: 'Send deliveries again (same webhook-id, so receivers dedupe): the ids given, or every failed one of an endpoint',
    input: Type.Object({
      ids: Type.Optional(Type.Array(Id, { minItems: 1, maxItems: 500 })),
      failedOf: Type.Optional(Id),
    }),
    output: Type.Object({ queued: Type.Integer() }),
    minRole: 'operator',
    mutating: true,
    audit: 'each',
  }),
} as const;
