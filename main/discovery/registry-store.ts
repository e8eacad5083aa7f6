import type { Database, Statement } from 'better-sqlite3';
import { resolveChecks } from './check-definition';
import { CHANGES_KEPT, HISTORY_PER_CHECK, defaultPolicy } from './defaults';
import { iso, stateOf, type Entry, type HistoryRow, type LiveCheck } from './registry-entry';
import type { CheckDefinition, CheckStatus, OutlierPolicy, ServicePolicy, Strategy } from './types';

interface InstanceRow {
  id: string;
  name: string;
  address: string;
  port: number;
  tags: string;
  meta: string;
  version: string | null;
  weight: number;
  checks: string;
  maintenance_reason: string | null;
  maintenance_since: string | null;
  registered_at: string;
  updated_at: string;
  last_heartbeat_at: string | null;
}

interface CheckRow {
  instance_id: string;
  check_id: string;
  status: CheckStatus;
  output: string;
  checked_at: string | null;
  changed_at: string;
  critical_since: string | null;
}

interface PolicyRow {
  name: string;
  strategy: Strategy;
  hash_header: string | null;
  outlier: string;
}

const ms = (text: string | null): number | null => (text === null ? null : Date.parse(text));

/** What `load` reads back: every instance, every service policy, and the watch index. */
export interface LoadedRegistry {
  entries: Map<string, Entry>;
  policies: Map<string, ServicePolicy>;
  index: number;
}

/**
 * The registry's SQLite record: instances, check states, status history, service policies and the
 * change log whose sequence is the watch index. Callers wrap related writes in `transaction`.
 */
export class RegistryStore {
  readonly #upsert: Statement;
  readonly #remove: Statement;
  readonly #removeChecksExcept: Statement;
  readonly #saveCheck: Statement;
  readonly #history: Statement;
  readonly #trimHistory: Statement;
  readonly #readHistory: Statement;
  readonly #change: Statement;
  readonly #trimChanges: Statement;
  readonly #savePolicy: Statement;

  constructor(private readonly db: Database) {
    this.#upsert =
      db.prepare(`INSERT INTO discovery_instances (id, name, address, port, tags, meta, version, weight, checks, maintenance_reason, maintenance_since, registered_at, updated_at, last_heartbeat_at)
        VALUES (@id, @name, @address, @port, @tags, @meta, @version, @weight, @checks, @maintenance_reason, @maintenance_since, @registered_at, @updated_at, @last_heartbeat_at)
        ON CONFLICT (id) DO UPDATE SET name = excluded.name, address = excluded.address, port = excluded.port, tags = excluded.tags, meta = excluded.meta,
          version = excluded.version, weight = excluded.weight, checks = excluded.checks, maintenance_reason = excluded.maintenance_reason,
          maintenance_since = excluded.maintenance_since, updated_at = excluded.updated_at, last_heartbeat_at = excluded.last_heartbeat_at`);
    this.#remove = db.prepare('DELETE FROM discovery_instances WHERE id = ?');
    this.#removeChecksExcept = db.prepare(
      'DELETE FROM discovery_check_state WHERE instance_id = ? AND check_id NOT IN (SELECT value FROM json_each(?))',
    );
    this.#saveCheck =
      db.prepare(`INSERT INTO discovery_check_state (instance_id, check_id, status, output, checked_at, changed_at, critical_since)
        VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (instance_id, check_id) DO UPDATE SET status = excluded.status, output = excluded.output,
          checked_at = excluded.checked_at, changed_at = excluded.changed_at, critical_since = excluded.critical_since`);
    this.#history = db.prepare('INSERT INTO discovery_check_history (instance_id, check_id, at, status, output) VALUES (?, ?, ?, ?, ?)');
    this.#trimHistory = db.prepare(`DELETE FROM discovery_check_history WHERE instance_id = ? AND check_id = ? AND seq NOT IN
        (SELECT seq FROM discovery_check_history WHERE instance_id = ? AND check_id = ? ORDER BY seq DESC LIMIT ${HISTORY_PER_CHECK})`);
    this.#readHistory = db.prepare(
      'SELECT at, status, output FROM discovery_check_history WHERE instance_id = ? AND check_id = ? ORDER BY seq DESC LIMIT ?',
    );
    this.#change = db.prepare('INSERT INTO discovery_changes (at, kind, service, instance_id, detail) VALUES (?, ?, ?, ?, ?)');
    this.#trimChanges = db.prepare('DELETE FROM discovery_changes WHERE seq <= ?');
    this.#savePolicy = db.prepare(`INSERT INTO discovery_services (name, strategy, hash_header, outlier, updated_at) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (name) DO UPDATE SET strategy = excluded.strategy, hash_header = excluded.hash_header, outlier = excluded.outlier, updated_at = excluded.updated_at`);
  }

  transaction(write: () => void): void {
    this.db.transaction(write)();
  }

  load(): LoadedRegistry {
    const checkRows = new Map<string, CheckRow[]>();
    for (const row of this.db.prepare('SELECT * FROM discovery_check_state').all() as CheckRow[]) {
      const list = checkRows.get(row.instance_id) ?? [];
      list.push(row);
      checkRows.set(row.instance_id, list);
    }
    const entries = new Map<string, Entry>();
    for (const row of this.db.prepare('SELECT * FROM discovery_instances').all() as InstanceRow[]) {
      const entry = entryOf(row, checkRows.get(row.id) ?? []);
      entries.set(entry.id, entry);
    }
    const policies = new Map<string, ServicePolicy>();
    for (const row of this.db.prepare('SELECT * FROM discovery_services').all() as PolicyRow[]) {
      policies.set(row.name, {
        strategy: row.strategy,
        hashHeader: row.hash_header,
        outlier: { ...defaultPolicy.outlier, ...(JSON.parse(row.outlier) as Partial<OutlierPolicy>) },
      });
    }
    const index = (this.db.prepare('SELECT coalesce(max(seq), 0) AS n FROM discovery_changes').get() as { n: number }).n;
    return { entries, policies, index };
  }

  /** Writes the instance row; with `checks`, also its check states, dropping those of checks it no longer has. */
  saveEntry(entry: Entry, checks: 'with-checks' | 'row-only'): void {
    this.#upsert.run(rowOf(entry));
    if (checks === 'row-only') return;
    this.#removeChecksExcept.run(entry.id, JSON.stringify([...entry.checks.keys()]));
    for (const check of entry.checks.values()) this.saveCheck(entry.id, check);
  }

  removeEntry(id: string): void {
    this.#remove.run(id);
  }

  saveCheck(id: string, check: LiveCheck): void {
    this.#saveCheck.run(
      id,
      check.def.id,
      check.damp.status,
      check.output,
      check.checkedAt === null ? null : iso(check.checkedAt),
      iso(check.changedAt),
      check.criticalSince === null ? null : iso(check.criticalSince),
    );
  }

  /** Appends a status change to the check's history, keeping the newest HISTORY_PER_CHECK. */
  addHistory(id: string, checkId: string, at: number, status: CheckStatus, output: string): void {
    this.#history.run(id, checkId, iso(at), status, output);
    this.#trimHistory.run(id, checkId, id, checkId);
  }

  readHistory(id: string, checkId: string, limit: number): HistoryRow[] {
    return this.#readHistory.all(id, checkId, limit) as HistoryRow[];
  }

  /** Logs a change and returns its sequence, the new watch index; old rows are trimmed now and then. */
  recordChange(at: number, kind: string, entry: Entry, detail: string | null): number {
    const index = Number(this.#change.run(iso(at), kind, entry.name, entry.id, detail).lastInsertRowid);
    if (index % 500 === 0) this.#trimChanges.run(index - CHANGES_KEPT);
    return index;
  }

  savePolicy(name: string, policy: ServicePolicy, at: number): void {
    this.#savePolicy.run(name, policy.strategy, policy.hashHeader, JSON.stringify(policy.outlier), iso(at));
  }
}

function entryOf(row: InstanceRow, checkRows: CheckRow[]): Entry {
  const defs = JSON.parse(row.checks) as CheckDefinition[];
  const entry: Entry = {
    id: row.id,
    name: row.name,
    address: row.address,
    port: row.port,
    tags: JSON.parse(row.tags) as string[],
    meta: JSON.parse(row.meta) as Record<string, string>,
    version: row.version,
    weight: row.weight,
    defs,
    checks: new Map(),
    maintenance: row.maintenance_reason === null ? null : { reason: row.maintenance_reason, since: ms(row.maintenance_since) ?? 0 },
    registeredAt: ms(row.registered_at) ?? 0,
    updatedAt: ms(row.updated_at) ?? 0,
    lastHeartbeatAt: ms(row.last_heartbeat_at),
    state: 'critical',
  };
  const saved = new Map(checkRows.map((c) => [c.check_id, c]));
  for (const def of resolveChecks(defs, entry)) {
    const s = saved.get(def.id);
    entry.checks.set(def.id, {
      def,
      damp: { status: s?.status ?? def.initialStatus, successes: 0, failures: 0 },
      output: s?.output ?? 'Not checked yet',
      checkedAt: ms(s?.checked_at ?? null),
      changedAt: ms(s?.changed_at ?? null) ?? entry.registeredAt,
      criticalSince: ms(s?.critical_since ?? null),
    });
  }
  entry.state = stateOf(entry);
  return entry;
}

function rowOf(entry: Entry): Record<string, unknown> {
  return {
    id: entry.id,
    name: entry.name,
    address: entry.address,
    port: entry.port,
    tags: JSON.stringify(entry.tags),
    meta: JSON.stringify(entry.meta),
    version: entry.version,
    weight: entry.weight,
    checks: JSON.stringify(entry.defs),
    maintenance_reason: entry.maintenance?.reason ?? null,
    maintenance_since: entry.maintenance === null ? null : iso(entry.maintenance.since),
    registered_at: iso(entry.registeredAt),
    updated_at: iso(entry.updatedAt),
    last_heartbeat_at: entry.lastHeartbeatAt === null ? null : iso(entry.lastHeartbeatAt),
  };
}
