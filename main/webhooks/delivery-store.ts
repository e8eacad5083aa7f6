import type { Database } from 'better-sqlite3';
import type { Static } from '@sinclair/typebox';
import { PhError } from '../../contract/errors';
import type { WebhookDeliverySchema, WebhookEventType } from '../../contract/ops/webhooks';
import { newId } from '../fleet';
import { StatementCache } from '../store';
import type { DeliveryAttempt, DeliveryNews } from './delivery-ledger';
import { isoTime } from '../iso-time';

export type WebhookDelivery = Static<typeof WebhookDeliverySchema>;
export type DeliveryStatus = WebhookDelivery['status'];

/** What a `webhook.deliver` job carries so that any node can make the try. */
export interface DeliveryCarried {
  readonly endpointId: string;
  readonly eventId: string;
  readonly eventType: WebhookEventType;
  readonly body: string;
  readonly createdAt: number;
}

export const carried = (row: DeliveryRow): DeliveryCarried => ({
  endpointId: row.endpoint_id,
  eventId: row.event_id,
  eventType: row.event_type,
  body: row.body,
  createdAt: row.created_at,
});

export interface DeliveryRow {
  id: string;
  endpoint_id: string;
  event_id: string;
  event_type: WebhookEventType;
  body: string;
  status: DeliveryStatus;
  attempts: number;
  last_status: number | null;
  last_error: string | null;
  next_at: number | null;
  created_at: number;
  finished_at: number | null;
}

interface AttemptRow {
  attempt: number;
  at: number;
  status_code: number | null;
  duration_ms: number;
  error: string | null;
  response: string | null;
}

const iso = (ms: number | null): string | null => (ms === null ? null : isoTime(ms));

/**
 * Each event sent to each endpoint is one delivery row; each try of it is one attempt row (the
 * delivery log). The row is the delivery's durable state: the queue job only says "try now".
 */
export class DeliveryStore {
  /** Every delivery runs several of these statements: each is prepared once. */
  readonly #sql: StatementCache;

  constructor(private readonly db: Database) {
    this.#sql = new StatementCache(db);
  }

  create(endpointId: string, eventId: string, eventType: WebhookEventType, body: string, now: number): DeliveryRow {
    return this.#sql
      .prepare(
        `INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event_type, body, status, attempts, next_at, created_at)
         VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?) RETURNING *`,
      )
      .get(newId(), endpointId, eventId, eventType, body, now, now) as DeliveryRow;
  }

  row(id: string): DeliveryRow | null {
    return (this.#sql.prepare('SELECT * FROM webhook_deliveries WHERE id = ?').get(id) as DeliveryRow | undefined) ?? null;
  }

  mustRow(id: string): DeliveryRow {
    const row = this.row(id);
    if (row === null) throw new PhError('PH_WEBHOOK_DELIVERY_NOT_FOUND', `There is no webhook delivery with id ${id}`, { field: 'ids' });
    return row;
  }

  /** Records one attempt and the delivery's new state in one transaction; the row as it now stands. */
  recordAttempt(
    row: DeliveryRow,
    attempt: { n: number; at: number; statusCode: number | null; durationMs: number; error: string | null; response: string | null },
    next: { status: DeliveryStatus; nextAt: number | null; finishedAt: number | null },
  ): DeliveryRow {
    return this.db.transaction(() => {
      this.#sql
        .prepare(
          `INSERT OR REPLACE INTO webhook_attempts (delivery_id, attempt, at, status_code, duration_ms, error, response)
           VALUES (?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(row.id, attempt.n, attempt.at, attempt.statusCode, attempt.durationMs, attempt.error, attempt.response);
      return this.#sql
        .prepare(
          `UPDATE webhook_deliveries SET status = ?, attempts = ?, last_status = ?, last_error = ?, next_at = ?, finished_at = ? WHERE id = ?
           RETURNING *`,
        )
        .get(next.status, attempt.n, attempt.statusCode, attempt.error, next.nextAt, next.finishedAt, row.id) as DeliveryRow;
    })();
  }

  /**
   * The row for a delivery made on another node whose try this node runs (the shared queue hands a
   * try to any node): the job carries what the row needs. Nothing happens when the row is here.
   */
  adopt(id: string, d: DeliveryCarried, attemptsMade: number): DeliveryRow {
    this.#sql
      .prepare(
        `INSERT OR IGNORE INTO webhook_deliveries (id, endpoint_id, event_id, event_type, body, status, attempts, next_at, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        id,
        d.endpointId,
        d.eventId,
        d.eventType,
        d.body,
        attemptsMade > 0 ? 'retrying' : 'pending',
        attemptsMade,
        d.createdAt,
        d.createdAt,
      );
    return this.mustRow(id);
  }

  /** A try made on another node, into this node's row and log; the row when it moved, else null. */
  mirror(news: DeliveryNews): DeliveryRow | null {
    const row = this.row(news.deliveryId);
    if (row === null || row.status === 'delivered' || row.status === 'failed') return null;
    if (news.attempt.n < row.attempts || (news.attempt.n === row.attempts && news.status === row.status)) return null;
    return this.recordAttempt(row, news.attempt, { status: news.status, nextAt: news.nextAt, finishedAt: news.finishedAt });
  }

  /** How many tries of the delivery this node's log holds (fewer than its `attempts`: some were made elsewhere and not heard). */
  loggedAttempts(id: string): number {
    return (this.#sql.prepare('SELECT count(*) AS n FROM webhook_attempts WHERE delivery_id = ?').get(id) as { n: number }).n;
  }

  /** Tries made on other nodes into this node's log, leaving the delivery's state as it is; how many were missing. */
  fillLog(id: string, attempts: readonly DeliveryAttempt[]): number {
    const insert = this.#sql.prepare(
      `INSERT OR IGNORE INTO webhook_attempts (delivery_id, attempt, at, status_code, duration_ms, error, response)
         SELECT ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM webhook_deliveries WHERE id = ?)`,
    );
    return this.db.transaction(() =>
      attempts.reduce((added, a) => added + insert.run(id, a.n, a.at, a.statusCode, a.durationMs, a.error, a.response, id).changes, 0),
    )();
  }

  /** Ends a delivery without another attempt (its endpoint was removed or turned off). */
  finish(id: string, status: 'failed', error: string, now: number): void {
    this.#sql
      .prepare(
        `UPDATE webhook_deliveries SET status = ?, last_error = ?, next_at = NULL, finished_at = ? WHERE id = ? AND status IN ('pending', 'retrying')`,
      )
      .run(status, error, now, id);
  }

  /** Deliveries still owed whose next try is due before `before`: the sweep re-queues them (idempotently). */
  open(before: number): DeliveryRow[] {
    return this.#sql
      .prepare(`SELECT * FROM webhook_deliveries WHERE status IN ('pending', 'retrying') AND next_at <= ? ORDER BY next_at LIMIT 1000`)
      .all(before) as DeliveryRow[];
  }

  failedOf(endpointId: string): DeliveryRow[] {
    return this.#sql
      .prepare(`SELECT * FROM webhook_deliveries WHERE endpoint_id = ? AND status = 'failed' ORDER BY created_at LIMIT 500`)
      .all(endpointId) as DeliveryRow[];
  }

  /** A page of deliveries, newest first, and how many the filter matches on every page. */
  list(filter: { endpointId?: string; status?: DeliveryStatus; limit?: number; offset?: number }): {
    deliveries: WebhookDelivery[];
    total: number;
  } {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.endpointId !== undefined) {
      where.push('endpoint_id = ?');
      args.push(filter.endpointId);
    }
    if (filter.status !== undefined) {
      where.push('status = ?');
      args.push(filter.status);
    }
    const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    const rows = this.#sql
      .prepare(`SELECT * FROM webhook_deliveries ${clause} ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`)
      .all(...args, filter.limit ?? 50, filter.offset ?? 0) as DeliveryRow[];
    const { n } = this.#sql.prepare(`SELECT count(*) AS n FROM webhook_deliveries ${clause}`).get(...args) as { n: number };
    return { deliveries: rows.map((r) => this.toDelivery(r)), total: n };
  }

  toDelivery(row: DeliveryRow): WebhookDelivery {
    const log = this.#sql
      .prepare('SELECT attempt, at, status_code, duration_ms, error, response FROM webhook_attempts WHERE delivery_id = ? ORDER BY attempt')
      .all(row.id) as AttemptRow[];
    return {
      id: row.id,
      endpointId: row.endpoint_id,
      eventId: row.event_id,
      eventType: row.event_type,
      status: row.status,
      attempts: row.attempts,
      lastStatus: row.last_status,
      lastError: row.last_error,
      nextAttemptAt: row.status === 'pending' || row.status === 'retrying' ? iso(row.next_at) : null,
      createdAt: isoTime(row.created_at),
      finishedAt: iso(row.finished_at),
      body: row.body,
      log: log.map((a) => ({
        attempt: a.attempt,
        at: isoTime(a.at),
        statusCode: a.status_code,
        durationMs: a.duration_ms,
        error: a.error,
        response: a.response,
      })),
    };
  }

  /** The delivery log's retention: ended deliveries older than `keepMs` go, with their attempts. */
  prune(now: number, keepMs: number): number {
    return this.#sql.prepare(`DELETE FROM webhook_deliveries WHERE status IN ('delivered', 'failed') AND created_at < ?`).run(now - keepMs)
      .changes;
  }
}
