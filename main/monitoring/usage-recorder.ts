import type { Database, Statement } from 'better-sqlite3';
import { PhError } from '../../contract/errors';
import type { Clock } from '../clock';

export interface UsageRow {
  keyId: string;
  route: string;
  requests: number;
  errors: number;
  bytesIn: number;
  bytesOut: number;
  /** The rate-limit tier the key was on (the latest in the range); '' before tiers were counted. */
  tier: string;
  /** Requests refused by the rate limit (429), also counted in `errors`. */
  refused: number;
}

export type UsageGroup = 'key' | 'route' | 'key-route';

/** Calls of one operation by one key over a range, whatever the transport (HTTP, WebSocket, IPC). */
export interface OperationUsageRow {
  keyId: string;
  operation: string;
  calls: number;
  errors: number;
}

export const NO_KEY = '(none)';
const MINUTE = 60_000;
const DEFAULT_RETENTION_MS = 90 * 24 * 3_600_000;

interface Pending {
  minute: number;
  keyId: string;
  route: string;
  requests: number;
  errors: number;
  bytesIn: number;
  bytesOut: number;
  tier: string;
  refused: number;
}

/**
 * Requests, errors and bytes per API key and route, counted in memory per minute and written to
 * SQLite on `flush()` (every sampling tick), so a request costs a map update, not a write.
 */
export class UsageRecorder {
  /** The current minute's counts by key, then route: two map lookups a request, no string built. */
  #minute = -1;
  #current = new Map<string, Map<string, Pending>>();
  /** Minutes that ended before the last flush. */
  #closed: Pending[] = [];
  readonly #upsert: Statement;
  /** Counted operations (docs/security.md): calls per minute, key and operation. */
  #opMinute = -1;
  #ops = new Map<string, OperationUsageRow & { minute: number }>();
  #closedOps: (OperationUsageRow & { minute: number })[] = [];
  readonly #upsertOp: Statement;

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    readonly retentionMs = DEFAULT_RETENTION_MS,
  ) {
    this.#upsert = db.prepare(`
      INSERT INTO monitoring_usage (minute, key_id, route, requests, errors, bytes_in, bytes_out, tier, refused)
      VALUES (@minute, @keyId, @route, @requests, @errors, @bytesIn, @bytesOut, @tier, @refused)
      ON CONFLICT (minute, key_id, route) DO UPDATE SET
        requests = requests + excluded.requests, errors = errors + excluded.errors,
        bytes_in = bytes_in + excluded.bytes_in, bytes_out = bytes_out + excluded.bytes_out,
        tier = excluded.tier, refused = refused + excluded.refused`);
    this.#upsertOp = db.prepare(`
      INSERT INTO monitoring_op_usage (minute, key_id, operation, calls, errors)
      VALUES (@minute, @keyId, @operation, @calls, @errors)
      ON CONFLICT (minute, key_id, operation) DO UPDATE SET calls = calls + excluded.calls, errors = errors + excluded.errors`);
  }

  /** One call of an operation audited by count: tallied per minute, key and operation, written on `flush()`. */
  countOperation(keyId: string | null, operation: string, error: boolean, now: number = this.clock.now()): void {
    const minute = now - (now % MINUTE);
    if (minute !== this.#opMinute) {
      this.#closedOps.push(...this.#ops.values());
      this.#ops = new Map();
      this.#opMinute = minute;
    }
    const key = keyId ?? NO_KEY;
    const id = `${key}\u0000${operation}`;
    let entry = this.#ops.get(id);
    if (entry === undefined) {
      entry = { minute, keyId: key, operation, calls: 0, errors: 0 };
      this.#ops.set(id, entry);
    }
    entry.calls += 1;
    if (error) entry.errors += 1;
  }

  /**
   * `error` means the request failed on the server's side or was refused (status 4xx/5xx); `refused`
   * that the rate limit refused it; `tier` is the caller's rate-limit tier.
   */
  record(
    keyId: string | null,
    route: string,
    error: boolean,
    bytesIn: number,
    bytesOut: number,
    now: number = this.clock.now(),
    tier: string | null = null,
    refused = false,
  ): void {
    const minute = now - (now % MINUTE);
    if (minute !== this.#minute) {
      this.#closeMinute();
      this.#minute = minute;
    }
    const key = keyId ?? NO_KEY;
    let routes = this.#current.get(key);
    if (routes === undefined) {
      routes = new Map();
      this.#current.set(key, routes);
    }
    let entry = routes.get(route);
    if (entry === undefined) {
      entry = { minute, keyId: key, route, requests: 0, errors: 0, bytesIn: 0, bytesOut: 0, tier: '', refused: 0 };
      routes.set(route, entry);
    }
    entry.requests += 1;
    if (error) entry.errors += 1;
    entry.bytesIn += bytesIn;
    entry.bytesOut += bytesOut;
    if (tier !== null) entry.tier = tier;
    if (refused) entry.refused += 1;
  }

  flush(): void {
    this.#closeMinute();
    const ops = [...this.#closedOps, ...this.#ops.values()];
    this.#ops = new Map();
    this.#closedOps = [];
    if (this.#closed.length === 0 && ops.length === 0) return;
    const entries = this.#closed;
    this.#closed = [];
    this.db.transaction(() => {
      for (const entry of entries) this.#upsert.run(entry);
      for (const entry of ops) this.#upsertOp.run(entry);
    })();
  }

  #closeMinute(): void {
    for (const routes of this.#current.values()) for (const entry of routes.values()) this.#closed.push(entry);
    this.#current = new Map();
  }

  prune(now: number = this.clock.now()): number {
    const before = now - this.retentionMs;
    return (
      this.db.prepare('DELETE FROM monitoring_usage WHERE minute < ?').run(before).changes +
      this.db.prepare('DELETE FROM monitoring_op_usage WHERE minute < ?').run(before).changes
    );
  }

  /** Calls per key and operation over [from, to), busiest first: the operations audited by count. */
  operations(from: number, to: number): OperationUsageRow[] {
    if (!(to > from)) throw new PhError('PH_MONITORING_BAD_RANGE', '"to" must be after "from"');
    this.flush();
    return this.db
      .prepare(
        `SELECT key_id AS keyId, operation, sum(calls) AS calls, sum(errors) AS errors FROM monitoring_op_usage
         WHERE minute >= ? AND minute < ? GROUP BY 1, 2 ORDER BY calls DESC, keyId, operation`,
      )
      .all(Math.floor(from / MINUTE) * MINUTE, to) as OperationUsageRow[];
  }

  /** Totals over [from, to) by minute, grouped as asked; busiest first. */
  report(from: number, to: number, groupBy: UsageGroup = 'key-route'): UsageRow[] {
    if (!(to > from)) throw new PhError('PH_MONITORING_BAD_RANGE', '"to" must be after "from"');
    this.flush();
    const keyCol = groupBy === 'route' ? `'*'` : 'key_id';
    const routeCol = groupBy === 'key' ? `'*'` : 'route';
    const rows = this.db
      .prepare(
        `SELECT ${keyCol} AS keyId, ${routeCol} AS route, sum(requests) AS requests, sum(errors) AS errors,
                sum(bytes_in) AS bytesIn, sum(bytes_out) AS bytesOut,
                ${groupBy === 'route' ? `'*'` : 'max(tier)'} AS tier, sum(refused) AS refused
         FROM monitoring_usage WHERE minute >= ? AND minute < ?
         GROUP BY 1, 2 ORDER BY requests DESC, keyId, route`,
      )
      .all(Math.floor(from / MINUTE) * MINUTE, to) as UsageRow[];
    return rows;
  }

  /** Refused (429) requests per key over [from, to): who keeps hitting their limit. */
  refusedByKey(from: number, to: number): Map<string, number> {
    this.flush();
    const rows = this.db
      .prepare(
        'SELECT key_id AS keyId, sum(refused) AS refused FROM monitoring_usage WHERE minute >= ? AND minute < ? GROUP BY key_id HAVING sum(refused) > 0',
      )
      .all(Math.floor(from / MINUTE) * MINUTE, to) as { keyId: string; refused: number }[];
    return new Map(rows.map((r) => [r.keyId, r.refused]));
  }
}

const CSV_COLUMNS: (keyof UsageRow)[] = ['keyId', 'route', 'requests', 'errors', 'bytesIn', 'bytesOut', 'tier', 'refused'];

/** RFC 4180: fields with a comma, quote or line break are quoted, quotes doubled; CRLF line ends. */
export function usageToCsv(rows: readonly UsageRow[]): string {
  const field = (value: string | number): string => {
    const text = String(value);
    // A leading =, +, - or @ makes spreadsheets run the cell as a formula; a quote mark defuses it.
    const safe = /^[=+\-@\t\r]/.test(text) && typeof value === 'string' ? `'${text}` : text;
    return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
  };
  const lines = [CSV_COLUMNS.join(',')];
  for (const row of rows) lines.push(CSV_COLUMNS.map((c) => field(row[c])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
