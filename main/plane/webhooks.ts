/** The webhook service's wiring, with the fleet-wide table of its endpoints. */
import type { BatchCapability } from '../batch';
import type { EventBus } from '../events';
import type { AuditLog, FleetSecrets } from '../security';
import { WebhookService, webhookTables } from '../webhooks';
import type { FleetWiring } from './fleet';
import { redisAddressOf, sentinelAddresses } from './redis-addresses';
import type { Wiring } from './wiring';

export interface WebhookLinks {
  readonly bus: EventBus;
  readonly audit: AuditLog;
  readonly fleetSecrets: FleetSecrets | null;
  readonly fleet: FleetWiring;
  readonly batch: BatchCapability;
  /** The port this node's HTTP server answers on, or the configured one before it runs (null for "any"). */
  readonly ownPort: () => number | null;
}

export async function wireWebhooks(w: Wiring, deps: WebhookLinks): Promise<WebhookService> {
  const { config } = w;
  const { redis, seal } = deps.fleet;
  const webhooks = new WebhookService({
    db: w.db,
    dataDir: config.dataDir,
    queue: deps.batch.queue,
    bus: deps.bus,
    clock: w.clock,
    logger: w.logger.child({ component: 'webhooks' }),
    ownPort: deps.ownPort,
    redisTarget: redisAddressOf(config.redisUrl),
    redisSentinels: sentinelAddresses(config),
    redis: redis?.client ?? null,
    seal,
    secretKey: deps.fleetSecrets?.encryptionKey('webhook-secrets') ?? null,
    audit: (record) => deps.audit.append(record),
    options: {
      retentionMs: w.kept.webhookDeliveryMs,
      ...(config.webhooks?.allowCidrs !== undefined ? { allowCidrs: config.webhooks.allowCidrs } : {}),
      ...(config.webhooks?.retryWindowHours !== undefined ? { retryWindowMs: config.webhooks.retryWindowHours * 3_600_000 } : {}),
      ...w.options.webhooks,
    },
  });
  await w.start(webhooks);
  const webhookTable = webhookTables(deps.fleet.fleetDeps, webhooks);
  await w.start(webhookTable.endpoints);
  return webhooks;
}
