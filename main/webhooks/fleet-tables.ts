import { ReplicatedTable, type FleetTableDeps } from '../fleet';
import { EndpointReplicaSchema } from './endpoint-replica';
import type { WebhookService } from './webhook-service';

/** Webhook endpoints and their (encrypted) secrets, the same on every node (last edit wins per endpoint; see docs/fleet.md). */
export function webhookTables(deps: FleetTableDeps, webhooks: WebhookService) {
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
