import type { Clock } from '../clock';
import type { Logger } from '../logger';
import type { DeliveryRow, DeliveryStore } from './delivery-store';
import type { EndpointStore } from './endpoint-store';
import { postJson, type PostOutcome } from './http-post';
import { fullJitterDelay, type WebhookOptions } from './options';
import { liveSecrets, type WebhookSecretStore } from './secret-store';
import { signedHeaders } from './signing';
import type { OutboundReach } from '../security';

export const DELIVER_JOB = 'webhook.deliver';

export interface DeliverPayload {
  readonly deliveryId: string;
  readonly attempt: number;
}

export interface DelivererDeps {
  readonly endpoints: EndpointStore;
  readonly deliveries: DeliveryStore;
  readonly secrets: WebhookSecretStore;
  readonly policy: OutboundReach;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly options: WebhookOptions;
  /** Queues try number `attempt` of a delivery after `delayMs` (idempotent per delivery and attempt). */
  readonly schedule: (payload: DeliverPayload, delayMs: number) => Promise<void>;
  readonly changed: (row: DeliveryRow) => void;
  /** An endpoint was turned off by delivery (410, or the window ran out). */
  readonly disabled: (endpointId: string, reason: string) => void;
}

export function readDeliverPayload(payload: unknown): DeliverPayload {
  const p = (payload ?? {}) as Record<string, unknown>;
  if (typeof p.deliveryId !== 'string' || !Number.isInteger(p.attempt) || (p.attempt as number) < 1) {
    throw new Error(`${DELIVER_JOB} takes { deliveryId: string, attempt: integer >= 1 }`);
  }
  return { deliveryId: p.deliveryId, attempt: p.attempt as number };
}

/**
 * One try of one delivery, run by the `webhook.deliver` job. The delivery row is the durable state;
 * the job is only "try number n now". A job re-run after a crash finds its attempt already logged
 * and only makes sure the next one is queued, so a crash never loses a delivery nor skips ahead.
 */
export class Deliverer {
  constructor(private readonly deps: DelivererDeps) {}

  async run(payload: DeliverPayload): Promise<{ status: string; statusCode: number | null }> {
    const { deliveries, endpoints, clock, options } = this.deps;
    const row = deliveries.row(payload.deliveryId);
    if (row === null) return { status: 'gone', statusCode: null };
    if (row.status === 'delivered' || row.status === 'failed') return { status: row.status, statusCode: row.last_status };
    if (row.attempts >= payload.attempt) {
      if (row.status === 'retrying' && row.next_at !== null) {
        await this.deps.schedule({ deliveryId: row.id, attempt: row.attempts + 1 }, Math.max(0, row.next_at - clock.now()));
      }
      return { status: row.status, statusCode: row.last_status };
    }
    const endpoint = endpoints.find(row.endpoint_id);
    const now = clock.now();
    if (endpoint === null || !endpoint.enabled) {
      deliveries.finish(
        row.id,
        'failed',
        endpoint === null ? 'the endpoint was removed' : `the endpoint is disabled: ${endpoint.disabledReason ?? ''}`,
        now,
      );
      this.deps.changed(deliveries.mustRow(row.id));
      return { status: 'failed', statusCode: null };
    }
    const secrets = liveSecrets(this.deps.secrets.read(endpoint.id), now);
    if (secrets.length === 0) {
      deliveries.finish(row.id, 'failed', 'the endpoint has no signing secret on this node', now);
      this.deps.changed(deliveries.mustRow(row.id));
      return { status: 'failed', statusCode: null };
    }
    const headers = signedHeaders(secrets, row.event_id, Math.floor(now / 1000), row.body);
    const outcome = await postJson(endpoint.url, headers, row.body, this.deps.policy, {
      timeoutMs: options.timeoutMs,
      maxResponseBytes: options.maxResponseBytes,
    });
    return this.#record(row, payload.attempt, outcome);
  }

  async #record(row: DeliveryRow, n: number, outcome: PostOutcome): Promise<{ status: string; statusCode: number | null }> {
    const { deliveries, clock, options } = this.deps;
    const at = clock.now();
    const attempt = { n, at, ...outcome };
    const code = outcome.statusCode;
    if (code !== null && code >= 200 && code < 300) {
      deliveries.recordAttempt(row, attempt, { status: 'delivered', nextAt: null, finishedAt: at });
    } else if (code === 410) {
      deliveries.recordAttempt(row, attempt, { status: 'failed', nextAt: null, finishedAt: at });
      this.#disable(row.endpoint_id, 'the receiver answered 410 Gone');
    } else if (outcome.error?.startsWith('refused:') === true) {
      // The destination is not allowed: another try would be refused the same way.
      deliveries.recordAttempt(row, attempt, { status: 'failed', nextAt: null, finishedAt: at });
    } else {
      const delay = fullJitterDelay(options, n);
      if (at + delay - row.created_at > options.retryWindowMs) {
        deliveries.recordAttempt(row, attempt, { status: 'failed', nextAt: null, finishedAt: at });
        this.#disable(
          row.endpoint_id,
          `deliveries kept failing for ${Math.round(options.retryWindowMs / 60_000)} minutes (last: ${outcome.error ?? `HTTP ${code}`})`,
        );
      } else {
        deliveries.recordAttempt(row, attempt, { status: 'retrying', nextAt: at + delay, finishedAt: null });
        await this.deps.schedule({ deliveryId: row.id, attempt: n + 1 }, delay);
      }
    }
    const updated = deliveries.mustRow(row.id);
    this.deps.changed(updated);
    if (updated.status !== 'delivered')
      this.deps.logger.debug({ delivery: row.id, attempt: n, code, error: outcome.error }, 'webhook attempt failed');
    return { status: updated.status, statusCode: code };
  }

  #disable(endpointId: string, reason: string): void {
    if (this.deps.endpoints.disable(endpointId, reason, this.deps.clock.now())) this.deps.disabled(endpointId, reason);
  }
}
