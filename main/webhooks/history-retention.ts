import { durationOf, type RetentionCut } from '../core';
import type { WebhookService } from './webhook-service';

/** Ended deliveries and their attempt log, past the service's `retentionMs` (it also cuts them hourly). */
export function webhookRetentionCut(service: Pick<WebhookService, 'deliveries' | 'options'>): RetentionCut {
  return {
    name: 'webhook deliveries',
    tables: ['webhook_deliveries', 'webhook_attempts'],
    keeps: durationOf(service.options.retentionMs),
    run: (now) => service.deliveries.prune(now, service.options.retentionMs),
  };
}
