import { Type, type Static } from '@sinclair/typebox';
import type { Redis } from 'ioredis';
import type { FleetSeal } from '../fleet';
import type { Logger } from '../logger';
import { Subscriber } from '../redis';

/** The latest try of a delivery, as the node that made it tells the fleet. */
export const DeliveryNewsSchema = Type.Object(
  {
    deliveryId: Type.String({ minLength: 1, maxLength: 100 }),
    status: Type.Union([Type.Literal('retrying'), Type.Literal('delivered'), Type.Literal('failed')]),
    nextAt: Type.Union([Type.Integer(), Type.Null()]),
    finishedAt: Type.Union([Type.Integer(), Type.Null()]),
    attempt: Type.Object(
      {
        n: Type.Integer({ minimum: 1 }),
        at: Type.Integer(),
        statusCode: Type.Union([Type.Integer(), Type.Null()]),
        durationMs: Type.Integer({ minimum: 0 }),
        error: Type.Union([Type.String({ maxLength: 2000 }), Type.Null()]),
        response: Type.Union([Type.String({ maxLength: 70_000 }), Type.Null()]),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type DeliveryNews = Static<typeof DeliveryNewsSchema>;
export type DeliveryAttempt = DeliveryNews['attempt'];
const AttemptSchema = DeliveryNewsSchema.properties.attempt;

/**
 * Where a delivery stands fleet-wide. With Redis, a delivery's tries may run on any node (the
 * `webhook.deliver` job is on the shared queue), so each try's outcome is kept under
 * `ph:wh:delivery:<id>` (sealed, expiring after the retry window and a day) and published on
 * `ph:wh:deliveries`: a node about to try reads it first (a try already made elsewhere, or a
 * delivery already ended, is not made again), and the node holding the delivery's row mirrors every
 * try into its log. Every try is also kept in `ph:wh:delivery:<id>:log` (one field per attempt), so
 * a node that takes a delivery over, or missed some news, fills its log with the tries made
 * elsewhere (`history`). Without Redis it is the node itself and holds nothing.
 */
export interface DeliveryLedger {
  read(deliveryId: string): Promise<DeliveryNews | null>;
  /** Every try of the delivery any node told, oldest first. */
  history(deliveryId: string): Promise<DeliveryAttempt[]>;
  tell(news: DeliveryNews): Promise<void>;
  start(onNews: (news: DeliveryNews) => void): Promise<void>;
  stop(): Promise<void>;
}

export const localLedger: DeliveryLedger = {
  read: async () => null,
  history: async () => [],
  tell: async () => undefined,
  start: async () => undefined,
  stop: async () => undefined,
};

const CHANNEL = 'ph:wh:deliveries';
const KIND = 'webhook-delivery';
const keyOf = (id: string): string => `ph:wh:delivery:${id}`;
const logKeyOf = (id: string): string => `ph:wh:delivery:${id}:log`;
/** What an attempt's seal is bound to: its delivery's log and its number (a field moved to another cannot be opened). */
const fieldContext = (id: string, n: number | string): string => `${logKeyOf(id)}#${n}`;

export class RedisDeliveryLedger implements DeliveryLedger {
  #subscriber: Subscriber | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly seal: FleetSeal,
    private readonly keepMs: number,
    private readonly logger: Logger,
  ) {}

  async read(deliveryId: string): Promise<DeliveryNews | null> {
    const key = keyOf(deliveryId);
    const raw = await this.redis.get(key).catch(() => null);
    if (raw === null) return null;
    const opened = this.seal.openJson(KIND, key, raw, DeliveryNewsSchema, false);
    return opened !== null && opened.value.deliveryId === deliveryId ? opened.value : null;
  }

  async history(deliveryId: string): Promise<DeliveryAttempt[]> {
    const fields = await this.redis.hgetall(logKeyOf(deliveryId)).catch(() => ({}) as Record<string, string>);
    const attempts: DeliveryAttempt[] = [];
    for (const [n, raw] of Object.entries(fields)) {
      const opened = this.seal.openJson(KIND, fieldContext(deliveryId, n), raw, AttemptSchema, false);
      if (opened !== null && String(opened.value.n) === n) attempts.push(opened.value);
    }
    return attempts.sort((a, b) => a.n - b.n);
  }

  async tell(news: DeliveryNews): Promise<void> {
    const key = keyOf(news.deliveryId);
    const logKey = logKeyOf(news.deliveryId);
    const body = JSON.stringify(news);
    const attempt = JSON.stringify(news.attempt);
    try {
      await this.redis
        .multi()
        .set(key, this.seal.seal(KIND, key, body), 'PX', this.keepMs)
        .hset(logKey, String(news.attempt.n), this.seal.seal(KIND, fieldContext(news.deliveryId, news.attempt.n), attempt))
        .pexpire(logKey, this.keepMs)
        .publish(CHANNEL, this.seal.seal(KIND, CHANNEL, body))
        .exec();
    } catch (err) {
      // The try is in this node's log; other nodes learn it from the job's next run or not at all.
      this.logger.warn({ err, delivery: news.deliveryId }, 'webhook delivery outcome not shared with the fleet');
    }
  }

  async start(onNews: (news: DeliveryNews) => void): Promise<void> {
    const subscriber = new Subscriber(this.redis, {}, (err) => this.logger.debug({ err: err.message }, 'webhook ledger subscriber error'));
    this.#subscriber = subscriber;
    subscriber.client.on('message', (channel: string, raw: string) => {
      if (channel !== CHANNEL) return;
      const opened = this.seal.openJson(KIND, CHANNEL, raw, DeliveryNewsSchema);
      if (opened !== null && opened.node !== this.seal.nodeId) onNews(opened.value);
    });
    await subscriber.subscribeAtStart(CHANNEL).catch((err: Error) => this.logger.warn({ err }, 'webhook ledger could not subscribe'));
  }

  async stop(): Promise<void> {
    const subscriber = this.#subscriber;
    this.#subscriber = null;
    if (subscriber !== null) await subscriber.client.quit().catch(() => subscriber.client.disconnect());
  }
}
