import type { Database } from 'better-sqlite3';
import type { Static } from '@sinclair/typebox';
import { PhError } from '../../contract/errors';
import type { WebhookEndpointSchema, WebhookEventType } from '../../contract/ops/webhooks';
import { newId } from '../fleet';
import { StatementCache } from '../store';

export type WebhookEndpoint = Static<typeof WebhookEndpointSchema>;
export type WebhookFilter = Record<string, string | number | boolean>;

interface EndpointRow {
  id: string;
  url: string;
  description: string;
  event_types: string;
  filter: string;
  enabled: number;
  disabled_reason: string | null;
  created_at: number;
  created_by: string;
  updated_at: number;
}

export interface EndpointRecord {
  readonly id: string;
  readonly url: string;
  readonly description: string;
  readonly eventTypes: WebhookEventType[];
  readonly filter: WebhookFilter;
  readonly enabled: boolean;
  readonly disabledReason: string | null;
  readonly createdAt: number;
  readonly createdBy: string;
  readonly updatedAt: number;
}

export interface EndpointChanges {
  url?: string;
  eventTypes?: readonly WebhookEventType[];
  filter?: WebhookFilter;
  description?: string;
  enabled?: boolean;
}

/** Frozen: the store hands the same record to every reader until the endpoint changes. */
const toRecord = (row: EndpointRow): EndpointRecord =>
  Object.freeze({
    id: row.id,
    url: row.url,
    description: row.description,
    eventTypes: Object.freeze(JSON.parse(row.event_types) as WebhookEventType[]) as WebhookEventType[],
    filter: Object.freeze(JSON.parse(row.filter) as WebhookFilter),
    enabled: row.enabled === 1,
    disabledReason: row.disabled_reason,
    createdAt: row.created_at,
    createdBy: row.created_by,
    updatedAt: row.updated_at,
  });

/**
 * The registered endpoints (their secrets are kept apart, in the secret store). Every event asks
 * which endpoints take it and every delivery reads its endpoint, so the rows are read once and kept
 * until a write: this class is the only writer of its table (the fleet's copies come in through
 * `put`), the node makes one (WebhookService), and each write drops what it kept.
 */
export class EndpointStore {
  readonly #sql: StatementCache;
  /** Every endpoint by id, in list order (created, then id); null until read or after a write. */
  #kept: Map<string, EndpointRecord> | null = null;

  constructor(private readonly db: Database) {
    this.#sql = new StatementCache(db);
  }

  #all(): Map<string, EndpointRecord> {
    if (this.#kept !== null) return this.#kept;
    const rows = this.#sql.prepare('SELECT * FROM webhook_endpoints ORDER BY created_at, id').all() as EndpointRow[];
    const all = new Map(rows.map((row) => [row.id, toRecord(row)]));
    // Rows read inside a transaction may yet be rolled back: they are used, not kept.
    if (!this.db.inTransaction) this.#kept = all;
    return all;
  }

  /** Runs a write and forgets the kept rows, whether or not it changed one. */
  #write<T>(write: () => T): T {
    try {
      return write();
    } finally {
      this.#kept = null;
    }
  }

  create(
    input: { url: string; eventTypes: readonly WebhookEventType[]; filter?: WebhookFilter; description?: string },
    by: string,
    now: number,
  ): EndpointRecord {
    const id = newId();
    this.#write(() =>
      this.#sql
        .prepare(
          `INSERT INTO webhook_endpoints (id, url, description, event_types, filter, enabled, created_at, created_by, updated_at)
         VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?)`,
        )
        .run(
          id,
          input.url,
          input.description ?? '',
          JSON.stringify([...new Set(input.eventTypes)]),
          JSON.stringify(input.filter ?? {}),
          now,
          by,
          now,
        ),
    );
    return this.get(id);
  }

  find(id: string): EndpointRecord | null {
    return this.#all().get(id) ?? null;
  }

  get(id: string): EndpointRecord {
    const found = this.find(id);
    if (found === null) throw new PhError('PH_WEBHOOK_NOT_FOUND', `There is no webhook endpoint with id ${id}`, { field: 'id' });
    return found;
  }

  list(): EndpointRecord[] {
    return [...this.#all().values()];
  }

  /** Enabled endpoints that take this event type (the filter is applied by the caller, on the data). */
  subscribedTo(type: WebhookEventType): EndpointRecord[] {
    return this.list().filter((e) => e.enabled && e.eventTypes.includes(type));
  }

  update(id: string, changes: EndpointChanges, now: number): EndpointRecord {
    const current = this.get(id);
    const enabled = changes.enabled ?? current.enabled;
    this.#write(() =>
      this.#sql
        .prepare(
          `UPDATE webhook_endpoints SET url = ?, description = ?, event_types = ?, filter = ?, enabled = ?, disabled_reason = ?, updated_at = ?
         WHERE id = ?`,
        )
        .run(
          changes.url ?? current.url,
          changes.description ?? current.description,
          JSON.stringify([...new Set(changes.eventTypes ?? current.eventTypes)]),
          JSON.stringify(changes.filter ?? current.filter),
          enabled ? 1 : 0,
          enabled ? null : current.disabledReason,
          now,
          id,
        ),
    );
    return this.get(id);
  }

  /** Turns an endpoint off with a reason; false when it was already off (so only one caller alerts). */
  disable(id: string, reason: string, now: number): boolean {
    return this.#write(
      () =>
        this.#sql
          .prepare('UPDATE webhook_endpoints SET enabled = 0, disabled_reason = ?, updated_at = ? WHERE id = ? AND enabled = 1')
          .run(reason, now, id).changes === 1,
    );
  }

  /** Writes an endpoint as another node has it (the fleet-wide table's merge winner). */
  put(record: EndpointRecord): void {
    this.#write(() =>
      this.#sql
        .prepare(
          `INSERT INTO webhook_endpoints (id, url, description, event_types, filter, enabled, disabled_reason, created_at, created_by, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET url = excluded.url, description = excluded.description, event_types = excluded.event_types,
         filter = excluded.filter, enabled = excluded.enabled, disabled_reason = excluded.disabled_reason, updated_at = excluded.updated_at`,
        )
        .run(
          record.id,
          record.url,
          record.description,
          JSON.stringify(record.eventTypes),
          JSON.stringify(record.filter),
          record.enabled ? 1 : 0,
          record.disabledReason,
          record.createdAt,
          record.createdBy,
          record.updatedAt,
        ),
    );
  }

  remove(id: string): boolean {
    return this.#write(() => this.#sql.prepare('DELETE FROM webhook_endpoints WHERE id = ?').run(id).changes === 1);
  }

  countDisabled(): number {
    let n = 0;
    for (const endpoint of this.#all().values()) if (!endpoint.enabled) n += 1;
    return n;
  }
}

/** Equality on top-level fields of the event's data; an empty filter passes everything. */
export function filterMatches(filter: WebhookFilter, data: unknown): boolean {
  const record = (typeof data === 'object' && data !== null ? data : {}) as Record<string, unknown>;
  return Object.entries(filter).every(([field, value]) => record[field] === value);
}
