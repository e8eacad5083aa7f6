import { join } from 'node:path';
import { createHash } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import type { Redis } from 'ioredis';
import { PhError } from '../../contract/errors';
import type { WebhookEventType } from '../../contract/ops/webhooks';
import type { JobInfo, JobQueue } from '../batch';
import type { Clock } from '../clock';
import type { EventBus } from '../events';
import { newId, type FleetSeal } from '../fleet';
import type { Logger } from '../logger';
import type { OutboundReach } from '../security';
import { redactUrl } from '../security';
import type { Service, ServiceState } from '../service';
import { completeLog, Deliverer, DELIVER_JOB, readDeliverPayload, type DeliverPayload } from './deliverer';
import { localLedger, RedisDeliveryLedger, type DeliveryLedger } from './delivery-ledger';
import { carried, DeliveryStore, type DeliveryRow, type WebhookDelivery } from './delivery-store';
import { EndpointReplicas } from './endpoint-replica';
import {
  EndpointStore,
  filterMatches,
  type EndpointChanges,
  type EndpointRecord,
  type WebhookEndpoint,
  type WebhookFilter,
} from './endpoint-store';
import { toWebhookEvent, webhookBody, type WebhookEvent } from './event-source';
import { defaultWebhookOptions, type WebhookOptions } from './options';
import { FileSecretStore, liveSecrets, type WebhookSecretStore } from './secret-store';
import { SecretBox } from './secret-box';
import { newWebhookSecret } from './signing';
import { portOf, refusedUrl, webhookReach } from './target-allow-list';
import { DATA_DIR } from '../core';

export interface WebhookDeps {
  readonly db: Database;
  readonly dataDir: string;
  readonly queue: JobQueue;
  readonly bus: EventBus;
  readonly clock: Clock;
  readonly logger: Logger;
  /** This node's HTTP port (refused as a destination), once it listens. */
  readonly ownPort: () => number | null;
  readonly audit: (record: { actor: string; action: string; target: string | null; outcome: 'ok' | 'error'; detail?: string }) => void;
  /** The node's Redis, refused as a destination like this node's own API. */
  readonly redisTarget?: { host: string; port: number } | null;
  /** The Redis Sentinels (`--redis-sentinels`): never destinations. */
  readonly redisSentinels?: readonly { host: string; port: number }[];
  /** With Redis (and the fleet seal), tries run on any node and their outcomes are shared (delivery-ledger.ts). */
  readonly redis?: Redis | null;
  readonly seal?: FleetSeal | null;
  /** Encrypts endpoint secrets for the fleet-wide endpoint table (`FleetSecrets.encryptionKey`); null: they are not shared. */
  readonly secretKey?: Buffer | null;
  readonly options?: Partial<WebhookOptions>;
  readonly secrets?: WebhookSecretStore;
}

/**
 * Webhooks: endpoints subscribe to event types; each matching event becomes a delivery row and a
 * `webhook.deliver` job on the shared job queue, signed (Standard Webhooks) at each try, retried with
 * full-jitter back-off over the retry window, logged per attempt.
 */
export class WebhookService implements Service {
  readonly name = 'webhooks';
  readonly options: WebhookOptions;
  readonly endpoints: EndpointStore;
  readonly deliveries: DeliveryStore;
  readonly secrets: WebhookSecretStore;
  readonly policy: OutboundReach;
  /** The endpoints as the fleet-wide table `webhook-endpoints` sees them (main/fleet-tables.ts). */
  readonly replicas: EndpointReplicas;
  readonly #ledger: DeliveryLedger;
  readonly #deliverer: Deliverer;
  #state: ServiceState = 'idle';
  #timers: NodeJS.Timeout[] = [];
  #unsubscribe: (() => void) | null = null;

  constructor(private readonly deps: WebhookDeps) {
    this.options = { ...defaultWebhookOptions, ...deps.options };
    this.endpoints = new EndpointStore(deps.db);
    this.deliveries = new DeliveryStore(deps.db);
    this.secrets = deps.secrets ?? new FileSecretStore(join(deps.dataDir, DATA_DIR.webhookSecrets));
    this.policy = webhookReach({
      allowCidrs: this.options.allowCidrs,
      ownPort: deps.ownPort,
      redis: deps.redisTarget ?? null,
      sentinels: deps.redisSentinels ?? [],
    });
    this.replicas = new EndpointReplicas(
      this.endpoints,
      this.secrets,
      deps.secretKey === undefined || deps.secretKey === null ? null : new SecretBox(deps.secretKey),
      deps.logger,
    );
    this.#ledger =
      deps.redis === undefined || deps.redis === null || deps.seal === undefined || deps.seal === null
        ? localLedger
        : new RedisDeliveryLedger(deps.redis, deps.seal, this.options.retryWindowMs + 86_400_000, deps.logger);
    this.#deliverer = new Deliverer({
      ledger: this.#ledger,
      endpoints: this.endpoints,
      deliveries: this.deliveries,
      secrets: this.secrets,
      policy: this.policy,
      clock: deps.clock,
      logger: deps.logger,
      options: this.options,
      schedule: async (row, attempt, delayMs) => {
        await this.#schedule(row, attempt, delayMs);
      },
      changed: (row) => this.#published(row),
      disabled: (endpointId, reason) => this.#disabled(endpointId, reason),
    });
    deps.queue.register(DELIVER_JOB, (payload) => this.#deliverer.run(readDeliverPayload(payload)), {
      concurrency: 8,
      // With Redis any node runs a try: every node holds every endpoint and its secrets (the fleet-wide
      // table), the job carries the delivery, and the ledger keeps a try from being made twice.
      placement: 'any',
      // The job is signed and sent as it says: only Pilothouse, having written the delivery row, enqueues one.
      internal: true,
      // It carries the event's body, which the delivery log shows to operators only.
      payloadRole: 'operator',
    });
  }

  async start(): Promise<void> {
    this.#state = 'starting';
    await this.#ledger.start((news) => {
      const row = this.deliveries.mirror(news);
      if (row !== null) this.#published(row);
      void completeLog(this.deliveries, this.#ledger, news.deliveryId).catch((err: unknown) =>
        this.deps.logger.warn({ err, delivery: news.deliveryId }, 'webhook delivery log not completed from the fleet'),
      );
    });
    this.#unsubscribe = this.deps.bus.subscribe((message) => {
      const event = toWebhookEvent(message);
      if (event !== null) void this.publish(event);
    });
    this.deliveries.prune(this.deps.clock.now(), this.options.retentionMs);
    this.#timers.push(setInterval(() => void this.#sweep(), this.options.sweepEveryMs));
    this.#timers.push(setInterval(() => this.deliveries.prune(this.deps.clock.now(), this.options.retentionMs), 3_600_000));
    for (const t of this.#timers) t.unref();
    this.#state = 'running';
    await this.#catchUp();
    await this.#sweep();
  }

  async stop(): Promise<void> {
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    await this.#ledger.stop();
    this.#state = 'stopped';
  }

  status(): { state: ServiceState; detail?: string } {
    if (this.#state !== 'running') return { state: this.#state };
    const endpoints = this.endpoints.list();
    return { state: 'running', detail: `${endpoints.filter((e) => e.enabled).length} of ${endpoints.length} endpoints enabled` };
  }

  /** One event to every enabled endpoint subscribed to its type whose filter it passes; returns the deliveries made. */
  async publish(event: WebhookEvent, eventId: string = newId()): Promise<DeliveryRow[]> {
    const now = this.deps.clock.now();
    const body = webhookBody(event, now);
    const targets = this.endpoints.subscribedTo(event.type).filter((e) => filterMatches(e.filter, event.data));
    if (targets.length === 0 || !(await this.#firstToSee(event))) return [];
    const rows = targets.map((e) => this.deliveries.create(e.id, eventId, event.type, body, now));
    for (const row of rows) await this.#queueFirst(row);
    return rows;
  }

  async create(
    input: { url: string; eventTypes: readonly WebhookEventType[]; filter?: WebhookFilter; description?: string },
    by: string,
  ): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
    await this.#checkDestination(input.url);
    const record = this.endpoints.create(input, by, this.deps.clock.now());
    const secret = newWebhookSecret();
    this.secrets.write(record.id, [{ secret, expiresAt: null }]);
    this.replicas.changed(record.id);
    return { endpoint: this.view(record), secret };
  }

  async update(id: string, changes: EndpointChanges): Promise<WebhookEndpoint> {
    if (changes.url !== undefined) await this.#checkDestination(changes.url);
    const updated = this.endpoints.update(id, changes, this.deps.clock.now());
    this.replicas.changed(id);
    return this.view(updated);
  }

  remove(id: string): boolean {
    const removed = this.endpoints.remove(id);
    if (removed) {
      this.secrets.remove(id);
      this.replicas.changed(id);
    }
    return removed;
  }

  /** A new primary secret; the current one keeps signing until the overlap ends. */
  rotate(
    id: string,
    overlapMs: number = this.options.rotationOverlapMs,
  ): { endpoint: WebhookEndpoint; secret: string; previousExpiresAt: string | null } {
    const record = this.endpoints.get(id);
    const now = this.deps.clock.now();
    const current = this.secrets.read(id).filter((s) => s.expiresAt === null || s.expiresAt > now);
    const previous = current[0];
    const secret = newWebhookSecret();
    const kept = previous !== undefined && overlapMs > 0 ? [{ secret: previous.secret, expiresAt: now + overlapMs }] : [];
    this.secrets.write(id, [{ secret, expiresAt: null }, ...kept]);
    this.replicas.changed(id);
    return {
      endpoint: this.view(record),
      secret,
      previousExpiresAt: kept[0] === undefined ? null : new Date(kept[0].expiresAt).toISOString(),
    };
  }

  /** A `webhook.ping` to one endpoint, whatever it subscribes to, through the same queue and signing. */
  async ping(id: string): Promise<WebhookDelivery> {
    const record = this.endpoints.get(id);
    const now = this.deps.clock.now();
    const eventId = newId();
    const body = webhookBody({ type: 'webhook.ping', data: { endpointId: id, message: 'Pilothouse test ping' } }, now);
    const row = this.deliveries.create(record.id, eventId, 'webhook.ping', body, now);
    await this.#queueFirst(row);
    return this.deliveries.toDelivery(this.deliveries.mustRow(row.id));
  }

  /** Sends deliveries again as new deliveries with the same `webhook-id` and body (receivers dedupe). */
  async redeliver(input: { ids?: readonly string[]; failedOf?: string }): Promise<number> {
    const rows = [...(input.ids ?? []).map((id) => this.deliveries.mustRow(id))];
    if (input.failedOf !== undefined) rows.push(...this.deliveries.failedOf(this.endpoints.get(input.failedOf).id));
    const now = this.deps.clock.now();
    for (const row of rows) {
      const copy = this.deliveries.create(row.endpoint_id, row.event_id, row.event_type, row.body, now);
      await this.#queueFirst(copy);
    }
    return rows.length;
  }

  view(record: EndpointRecord): WebhookEndpoint {
    return {
      id: record.id,
      url: record.url,
      description: record.description,
      eventTypes: record.eventTypes,
      filter: record.filter,
      enabled: record.enabled,
      disabledReason: record.disabledReason,
      activeSecrets: liveSecrets(this.secrets.read(record.id), this.deps.clock.now()).length,
      createdAt: new Date(record.createdAt).toISOString(),
      updatedAt: new Date(record.updatedAt).toISOString(),
    };
  }

  async #checkDestination(raw: string): Promise<void> {
    const bad = refusedUrl(raw);
    if (bad !== null) throw new PhError('PH_WEBHOOK_TARGET_REFUSED', `${redactUrl(raw)}: ${bad}`, { field: 'url' });
    const url = new URL(raw);
    await this.policy.resolve(url.hostname, portOf(url));
  }

  async #queueFirst(row: DeliveryRow): Promise<void> {
    this.#published(row);
    try {
      await this.#schedule(row, row.attempts + 1, 0);
    } catch (err) {
      // The row is durable; the sweep queues it once the queue answers again.
      this.deps.logger.warn({ err, delivery: row.id }, 'webhook delivery could not be queued yet');
    }
  }

  /**
   * With Redis the job carries the delivery, for whichever node takes it; alone, the row is here.
   * `after`: a job for this try that ended without making it; the new one is named after it, so
   * every node's sweep adds the same one.
   */
  async #schedule(row: DeliveryRow, attempt: number, delayMs: number, after?: string): Promise<JobInfo> {
    const payload: DeliverPayload =
      this.#ledger === localLedger ? { deliveryId: row.id, attempt } : { deliveryId: row.id, attempt, delivery: carried(row) };
    return this.deps.queue.enqueue({
      type: DELIVER_JOB,
      payload,
      delayMs,
      attempts: 3,
      backoffMs: 1_000,
      timeoutMs: this.options.timeoutMs + 5_000,
      idempotencyKey: `webhook:${payload.deliveryId}:${payload.attempt}${after === undefined ? '' : `:after-${after}`}`,
    });
  }

  /** Tries other nodes made while this one was down (their news went by unheard): into this node's rows first. */
  async #catchUp(): Promise<void> {
    if (this.#ledger === localLedger) return;
    for (const row of this.deliveries.open(Number.MAX_SAFE_INTEGER)) {
      const news = await this.#ledger.read(row.id);
      const mirrored = news === null ? null : this.deliveries.mirror(news);
      if (mirrored !== null) this.#published(mirrored);
      await completeLog(this.deliveries, this.#ledger, row.id);
    }
  }

  /** Deliveries whose try is well overdue lost their job (a crash between the row and the enqueue): queue them again. */
  async #sweep(): Promise<void> {
    const cutoff = this.deps.clock.now() - this.options.sweepEveryMs;
    for (const overdue of this.deliveries.open(cutoff)) {
      // Tries made on other nodes come first: a delivery they ended or moved on is not queued again.
      const news = await this.#ledger.read(overdue.id);
      const mirrored = news === null ? null : this.deliveries.mirror(news);
      if (mirrored !== null) this.#published(mirrored);
      await completeLog(this.deliveries, this.#ledger, overdue.id);
      const row = mirrored ?? overdue;
      if (row.status === 'delivered' || row.status === 'failed' || (row.next_at ?? 0) > cutoff) continue;
      try {
        let job = await this.#schedule(row, row.attempts + 1, 0);
        // The try's job ended without making it (it died, or was cancelled): its key would hand the
        // same ended job back for as long as the queue keeps it, so a new one follows it.
        for (let n = 0; n < 3 && ENDED.has(job.state); n += 1) job = await this.#schedule(row, row.attempts + 1, 0, job.id);
      } catch (err) {
        this.deps.logger.warn({ err }, 'webhook sweep could not queue');
        return;
      }
    }
  }

  #published(row: DeliveryRow): void {
    this.deps.bus.publish('webhooks.delivery', {
      id: row.id,
      endpointId: row.endpoint_id,
      eventType: row.event_type,
      status: row.status,
      attempts: row.attempts,
      lastStatus: row.last_status,
    });
  }

  /**
   * Events that every node's bus carries (a registry change applied on each node) become deliveries
   * on the first node to see them only: a short claim in Redis on what the event says, without the
   * time each node stamps on it. Other events happen on one node and need no claim.
   */
  async #firstToSee(event: WebhookEvent): Promise<boolean> {
    const redis = this.deps.redis;
    const seen = FLEET_WIDE_EVENTS[event.type];
    if (redis === undefined || redis === null || seen === undefined) return true;
    const what = createHash('sha256')
      .update(event.type)
      .update(JSON.stringify(seen.map((k) => event.data[k] ?? null)))
      .digest('base64url');
    try {
      return (await redis.set(`ph:wh:event:${what}`, this.deps.seal?.nodeId ?? '1', 'PX', EVENT_CLAIM_MS, 'NX')) === 'OK';
    } catch {
      // Redis unreachable: better a duplicate (same type and data, receivers see it twice) than none.
      return true;
    }
  }

  #disabled(endpointId: string, reason: string): void {
    this.replicas.changed(endpointId);
    const endpoint = this.endpoints.find(endpointId);
    const url = endpoint?.url ?? '';
    this.deps.logger.warn({ endpoint: endpointId, url, reason }, 'webhook endpoint disabled');
    this.deps.audit({ actor: 'system', action: 'webhooks.disable', target: endpointId, outcome: 'ok', detail: reason });
    this.deps.bus.publish('webhooks.endpoint', { id: endpointId, url, enabled: false, reason });
    void this.publish({ type: 'webhook.endpoint.disabled', data: { id: endpointId, url, reason } });
  }
}

/** Which fields name an event that every node publishes, for `#firstToSee`. */
/** Job states a try's job does not leave: the sweep follows one with a new job. */
const ENDED: ReadonlySet<JobInfo['state']> = new Set(['completed', 'dead', 'cancelled']);

const FLEET_WIDE_EVENTS: Partial<Record<WebhookEventType, readonly string[]>> = {
  'service.health': ['id', 'state', 'previous'],
  'service.deregistered': ['id'],
};
/** Long enough for every node to have applied the change; short enough that a later, real repeat is sent. */
const EVENT_CLAIM_MS = 30_000;
