import { webhookEventTypes } from '../../contract/ops/webhooks';
import type { HandlersFor } from '../core';
import type { WebhookService } from './webhook-service';

type WebhookOps =
  | 'webhooks.list'
  | 'webhooks.create'
  | 'webhooks.update'
  | 'webhooks.delete'
  | 'webhooks.rotate'
  | 'webhooks.test'
  | 'webhooks.deliveries'
  | 'webhooks.redeliver';

export function webhooksHandlers(webhooks: WebhookService): HandlersFor<WebhookOps> {
  return {
    'webhooks.list': () => ({ endpoints: webhooks.endpoints.list().map((e) => webhooks.view(e)), eventTypes: [...webhookEventTypes] }),
    'webhooks.create': (input, caller) => webhooks.create(input, caller.actor),
    'webhooks.update': async ({ id, ...changes }) => ({ endpoint: await webhooks.update(id, changes) }),
    'webhooks.delete': (input) => ({ deleted: webhooks.remove(input.id) }),
    'webhooks.rotate': (input) => webhooks.rotate(input.id, input.overlapSeconds === undefined ? undefined : input.overlapSeconds * 1000),
    'webhooks.test': async (input) => ({ delivery: await webhooks.ping(input.id) }),
    'webhooks.deliveries': (input) => webhooks.deliveries.list(input),
    'webhooks.redeliver': async (input) => ({ queued: await webhooks.redeliver(input) }),
  };
}
