import type { Clock } from '../clock';
import type { Logger } from '../logger';
import { webhookEventTypes, type WebhookEventType } from '../../contract/ops/webhooks';
import type { DeliveryLedger, DeliveryNews } from './delivery-ledger';
import type { DeliveryCarried, DeliveryRow, DeliveryStore } from './delivery-store';
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
  /** The delivery itself, for a node that does not hold its row (absent in jobs queued before it was carried). */
  readonly delivery?: DeliveryCarried;
}

export interface DelivererDeps {
  readonly endpoints: EndpointStore;
  readonly deliveries: DeliveryStore;
  readonly secrets: WebhookSecretStore;
  readonly policy: OutboundReach;
  readonly ledger: DeliveryLedger;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly options: WebhookOptions;
  /** Queues try number `attempt` of a delivery after `delayMs` (idempotent per delivery and attempt). */
  readonly schedule: (row: DeliveryRow, attempt: number, delayMs: number) => Promise<void>;
  readonly changed: (row: DeliveryRow) => void;
  /** An endpoint was turned off by delivery (410, or the window ran out). */
  readonly disabled: (endpointId: string, reason: string) => void;
}

export function readDeliverPayload(payload: unknown): DeliverPayload {
  const p = (payload ?? {}) as Record<string, unknown>;
  if (typeof p.deliveryId !== 'string' || !Number.isInteger(p.attempt) || (p.attempt as number) < 1) {
    throw new Error(`${DELIVER_JOB} takes { deliveryId: string, attempt: integer >= 1, delivery? }`);
  }
  if (p.delivery === undefined) return { deliveryId: p.deliveryId, attempt: p.attempt as number };
  return { deliveryId: p.deliveryId, attempt: p.attempt as number, delivery: readCarried(p.delivery) };
}

function readCarried(raw: unknown): DeliveryCarried {
  const d = (raw ?? {}) as Record<string, unknown>;
  const strings = [d.endpointId, d.eventId, d.body].every((v) => typeof v === 'string' && v.length > 0);
  if (!strings || !(webhookEventTypes as readonly unknown[]).includes(d.eventType) || !Number.isInteger(d.createdAt)) {
    throw new Error(`${DELIVER_JOB}'s delivery takes { endpointId, eventId, eventType, body, createdAt }`);
  }
  return {
    endpointId: d.endpointId as string,
    eventId: d.eventId as string,
    eventType: d.eventType as WebhookEventType,
    body: d.body as string,
    createdAt: d.createdAt as number,
  };
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
    let row = deliveries.row(payload.deliveryId);
    if (row === null) {
      if (payload.delivery === undefined) return { status: 'gone', statusCode: null };
      // The endpoint comes through the fleet-wide table; a job faster than it fails and is retried by the queue.
      if (endpoints.find(payload.delivery.endpointId) === null) throw new Error('the endpoint has not reached this node yet');
      row = deliveries.adopt(payload.deliveryId, payload.delivery, payload.attempt - 1);
    }
    // A try made elsewhere (this job re-queued by a sweep, or run again after a crash there) is not made again.
    const news = await this.deps.ledger.read(row.id);
    if (news !== null) {
      const mirrored = deliveries.mirror(news);
      if (mirrored !== null) this.deps.changed(mirrored);
      row = deliveries.mustRow(row.id);
    }
    // The tries made before this node took the delivery over belong in its log too.
    await completeLogOf(deliveries, this.deps.ledger, row);
    if (news !== null && news.attempt.n >= payload.attempt) return { status: row.status, statusCode: row.last_status };
    if (row.status === 'delivered' || row.status === 'failed') return { status: row.status, statusCode: row.last_status };
    if (row.attempts >= payload.attempt) {
      if (row.status === 'retrying' && row.next_at !== null) {
        await this.deps.schedule(row, row.attempts + 1, Math.max(0, row.next_at - clock.now()));
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
    let updated: DeliveryRow;
    if (code !== null && code >= 200 && code < 300) {
      updated = deliveries.recordAttempt(row, attempt, { status: 'delivered', nextAt: null, finishedAt: at });
    } else if (code === 410) {
      updated = deliveries.recordAttempt(row, attempt, { status: 'failed', nextAt: null, finishedAt: at });
      this.#disable(row.endpoint_id, 'the receiver answered 410 Gone');
    } else if (outcome.error?.startsWith('refused:') === true) {
      // The destination is not allowed: another try would be refused the same way.
      updated = deliveries.recordAttempt(row, attempt, { status: 'failed', nextAt: null, finishedAt: at });
    } else {
      const delay = fullJitterDelay(options, n);
      if (at + delay - row.created_at > options.retryWindowMs) {
        updated = deliveries.recordAttempt(row, attempt, { status: 'failed', nextAt: null, finishedAt: at });
        this.#disable(
          row.endpoint_id,
          `deliveries kept failing for ${Math.round(options.retryWindowMs / 60_000)} minutes (last: ${outcome.error ?? `HTTP ${code}`})`,
        );
      } else {
        updated = deliveries.recordAttempt(row, attempt, { status: 'retrying', nextAt: at + delay, finishedAt: null });
        await this.deps.schedule(row, n + 1, delay);
      }
    }
    this.deps.changed(updated);
    await this.deps.ledger.tell(newsOf(updated, attempt));
    if (updated.status !== 'delivered')
      this.deps.logger.debug({ delivery: row.id, attempt: n, code, error: outcome.error }, 'webhook attempt failed');
    return { status: updated.status, statusCode: code };
  }

  #disable(endpointId: string, reason: string): void {
    if (this.deps.endpoints.disable(endpointId, reason, this.deps.clock.now())) this.deps.disabled(endpointId, reason);
  }
}

/**
 * Makes this node's log of a delivery hold every try the fleet made of it: those made on other
 * nodes before this one took it over, or whose news this node missed (it was down, or busy).
 * Costs a Redis read only when the log is short of the delivery's attempt count.
 */
export async function completeLog(deliveries: DeliveryStore, ledger: DeliveryLedger, id: string): Promise<void> {
  const row = deliveries.row(id);
  if (row !== null) await completeLogOf(deliveries, ledger, row);
}

/** `completeLog` for a row in hand; a delivery not yet tried (every first try) has nothing to complete. */
export async function completeLogOf(deliveries: DeliveryStore, ledger: DeliveryLedger, row: DeliveryRow): Promise<void> {
  if (row.attempts === 0 || deliveries.loggedAttempts(row.id) >= row.attempts) return;
  deliveries.fillLog(row.id, await ledger.history(row.id));
}

function newsOf(row: DeliveryRow, attempt: DeliveryNews['attempt']): DeliveryNews {
  return {
    deliveryId: row.id,
    status: row.status === 'pending' ? 'retrying' : row.status,
    nextAt: row.next_at,
    finishedAt: row.finished_at,
    attempt: { ...attempt, error: attempt.error?.slice(0, 2000) ?? null },
  };
}
