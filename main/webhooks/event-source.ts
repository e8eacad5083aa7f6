import type { EventMessage } from '../../contract/events';
import type { WebhookEventType } from '../../contract/ops/webhooks';
import { silencedWhenSent } from '../monitoring';

export interface WebhookEvent {
  readonly type: WebhookEventType;
  readonly data: Record<string, unknown>;
}

/** The delivery jobs themselves: a webhook about them would send a webhook about that one, forever. */
const OWN_JOB_TYPE = 'webhook.deliver';

/**
 * Which contract events leave Pilothouse as webhooks, and under what type. Most bus events are
 * chatter for live views (samples, progress); only endings and changes an integration acts on map.
 */
export function toWebhookEvent(message: EventMessage): WebhookEvent | null {
  switch (message.event) {
    case 'jobs.changed': {
      const p = message.payload;
      if (p.removed || p.type === OWN_JOB_TYPE) return null;
      if (p.state === 'completed') return { type: 'job.finished', data: { id: p.id, type: p.type, state: p.state } };
      if (p.state === 'dead') return { type: 'job.dead', data: { id: p.id, type: p.type, state: p.state } };
      return null;
    }
    case 'backup.finished': {
      const p = message.payload;
      // An operator's cancel is neither: as backup.failed it would page someone, as backup.done (until
      // now always ok) a receiver that reads only the type would take it for a snapshot made.
      return { type: p.ok ? 'backup.done' : p.cancelled ? 'backup.cancelled' : 'backup.failed', data: { ...p } };
    }
    case 'monitoring.alert': {
      const p = message.payload;
      // An operator silenced the rule (monitoring.alerts.silence): its integrations are quiet too.
      if (silencedWhenSent(p)) return null;
      if (p.state === 'firing') return { type: 'alert.fired', data: { ...p } };
      if (p.state === 'resolved') return { type: 'alert.resolved', data: { ...p } };
      return null;
    }
    case 'service.health':
      return { type: 'service.health', data: { ...message.payload } };
    case 'service.deregistered':
      return { type: 'service.deregistered', data: { ...message.payload } };
    case 'audit.appended': {
      const p = message.payload;
      if (p.action === 'keys.revoke' && p.outcome === 'ok') return { type: 'key.revoked', data: { id: p.target, by: p.actor, at: p.at } };
      return null;
    }
    default:
      return null;
  }
}

/** The Standard Webhooks body: `{ type, timestamp, data }`. */
export function webhookBody(event: WebhookEvent, at: number): string {
  return JSON.stringify({ type: event.type, timestamp: new Date(at).toISOString(), data: event.data });
}
