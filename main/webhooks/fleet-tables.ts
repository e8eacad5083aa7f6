import type { Database } from 'better-sqlite3';
import type { Redis } from 'ioredis';
import type { Clock } from '../clock';
import { ReplicatedTable, type FleetSeal, type RedisEpoch } from '../fleet';
import type { Logger } from '../logger';
import { EndpointReplicaSchema } from './endpoint-replica';
import type { WebhookService } from './webhook-service';

export interface WebhookTableDeps {
  readonly db: Database;
  readonly clock: Clock;
  readonly nodeId: string;
  readonly redis: Redis | null;
  readonly seal: FleetSeal | null;
  readonly logger: Logger;
  /** The node's Redis epoch watch: the table writes its records back when Redis comes back empty. */
  readonly epoch?: Pick<RedisEpoch, 'onEmptied'> | null;
  readonly checkIntervalMs?: number;
}

/** Webhook endpoints and their (encrypted) secrets, the same on every node (last edit wins per endpoint; see docs/fleet.md). */
export function webhookTables(deps: WebhookTableDeps, webhooks: WebhookService) {
  return {
    endpoints: new ReplicatedTable({
      ...deps,
      logger: deps.logger.child({ component: 'fleet-tables' }),
      name: 'webhook-endpoints',
      schema: EndpointReplicaSchema,
      source: webhooks.replicas,
    }),
  };
}
