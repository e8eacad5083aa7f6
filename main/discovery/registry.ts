import type { Database, Statement } from 'better-sqlite3';
import semver from 'semver';
import { PhError } from '../../contract/errors';
import type { Clock } from '../clock';
import type { EventBus } from '../events/event-bus';
import type { AuditLog } from '../security/audit-log';
import { describeTarget, resolveChecks, sameCheck } from './check-definition';
import { CHANGES_KEPT, HISTORY_PER_CHECK, MAX_INSTANCES, OUTPUT_LIMIT_CHARS, defaultPolicy } from './defaults';
import { applyResult, type DampedState } from './flap-damper';
import type {
  CheckDefinition,
  CheckResult,
  CheckState,
  CheckStatus,
  HealthState,
  Instance,
  InstanceFilter,
  OutlierPolicy,
  RegisterInput,
  ResolvedCheck,
  ServicePolicy,
  ServiceSummary,
  Strategy,
} from './types';

/** What the balancer needs of an instance; the arrays are rebuilt only when a service changes. */
export interface Target {
  readonly id: string;
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly weight: number;
}

interface LiveCheck {
  def: ResolvedCheck;
  damp: DampedState;
  output: string;
  checkedAt: number | null;
  changedAt: number;
  criticalSince: number | null;
}

interface Entry {
  id: string;
  name: string;
  address: string;
  port: number;
  tags: string[];
  meta: Record<string, string>;
  version: string | null;
  weight: number;
  defs: CheckDefinition[];
  checks: Map<string, LiveCheck>;
  maintenance: { reason: string; since: number } | null;
  registeredAt: number;
  updatedAt: number;
  lastHeartbeatAt: number | null;
  state: HealthState;
}

/** What the health checker hears about, to (re)schedule an instance's checks. */
export type RegistryChange =
  | { kind: 'registered'; id: string; checks: readonly ResolvedCheck[] }
  | { kind: 'deregistered'; id: string }
  | { kind: 'heartbeat'; id: string }
  /** A check status changed on another node: the checks keep running on their schedule. */
  | { kind: 'adopted'; id: string; checks: readonly ResolvedCheck[] };

/** An instance as another node needs it: definition plus current check status. */
export interface InstanceSnapshot {
  id: string;
  name: string;
  address: string;
  port: number;
  tags: string[];
  meta: Record<string, string>;
  version: string | null;
  weight: number;
  defs: CheckDefinition[];
  maintenance: { reason: string; since: number } | null;
  registeredAt: number;
  updatedAt: number;
  lastHeartbeatAt: number | null;
  checks: { id: string; status: CheckStatus; output: string; checkedAt: number | null; changedAt: number; criticalSince: number | null }[];
}

/** A change made on this node, for the other nodes (through Redis) to apply. */
export type Replication =
  | { kind: 'upsert'; snapshot: InstanceSnapshot }
  | { kind: 'remove'; id: string; reason: string }
  | { kind: 'heartbeat'; id: string; at: number };

interface Waiter {
  filter: InstanceFilter;
  index: number;
  resolve: (changed: boolean) => void;
}

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

const iso = (ms: number): string => new Date(ms).toISOString();
const ms = (text: string | null): number | null => (text === null ? null : Date.parse(text));
const truncate = (text: string): string => (text.length > OUTPUT_LIMIT_CHARS ? `${text.slice(0, OUTPUT_LIMIT_CHARS - 1)}…` : text);
const severity: Record<CheckStatus, number> = { passing: 0, warning: 1, critical: 2 };

/**
 * The catalogue of service instances. SQLite is the record (instances, check states, status
 * history, a change log whose sequence is the watch index); memory holds the same entries for
 * queries and picks, so the balancer never touches the database. Every real change bumps the
 * index, wakes matching watchers and goes out on the event bus; a re-registration that changes
 * nothing bumps nothing and keeps its checks' status (no flapping on re-register).
 */
export class ServiceRegistry {
  readonly #entries = new Map<string, Entry>();
  readonly #policies = new Map<string, ServicePolicy>();
  readonly #passing = new Map<string, readonly Target[]>();
  readonly #listeners = new Set<(change: RegistryChange) => void>();
  readonly #replicators = new Set<(message: Replication) => void>();
  readonly #policyEdits = new Set<(name: string, policy: ServicePolicy | null) => void>();
  #waiters: Waiter[] = [];
  #index = 0;
  #closing = false;
  #stmts: Record<string, Statement> | null = null;

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly bus: EventBus,
    private readonly audit: AuditLog,
  ) {}

  /** Loads every instance and policy from the database; the checker then schedules their checks. */
  load(): void {
    const db = this.db;
    this.#stmts = {
      upsert:
        db.prepare(`INSERT INTO discovery_instances (id, name, address, port, tags, meta, version, weight, checks, maintenance_reason, maintenance_since, registered_at, updated_at, last_heartbeat_at)
        VALUES (@id, @name, @address, @port, @tags, @meta, @version, @weight, @checks, @maintenance_reason, @maintenance_since, @registered_at, @updated_at, @last_heartbeat_at)
        ON CONFLICT (id) DO UPDATE SET name = excluded.name, address = excluded.address, port = excluded.port, tags = excluded.tags, meta = excluded.meta,
          version = excluded.version, weight = excluded.weight, checks = excluded.checks, maintenance_reason = excluded.maintenance_reason,
          maintenance_since = excluded.maintenance_since, updated_at = excluded.updated_at, last_heartbeat_at = excluded.last_heartbeat_at`),
      remove: db.prepare('DELETE FROM discovery_instances WHERE id = ?'),
      removeChecksExcept: db.prepare(
        'DELETE FROM discovery_check_state WHERE instance_id = ? AND check_id NOT IN (SELECT value FROM json_each(?))',
      ),
      saveCheck:
        db.prepare(`INSERT INTO discovery_check_state (instance_id, check_id, status, output, checked_at, changed_at, critical_since)
        VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (instance_id, check_id) DO UPDATE SET status = excluded.status, output = excluded.output,
          checked_at = excluded.checked_at, changed_at = excluded.changed_at, critical_since = excluded.critical_since`),
      history: db.prepare('INSERT INTO discovery_check_history (instance_id, check_id, at, status, output) VALUES (?, ?, ?, ?, ?)'),
      trimHistory: db.prepare(`DELETE FROM discovery_check_history WHERE instance_id = ? AND check_id = ? AND seq NOT IN
        (SELECT seq FROM discovery_check_history WHERE instance_id = ? AND check_id = ? ORDER BY seq DESC LIMIT ${HISTORY_PER_CHECK})`),
      readHistory: db.prepare(
        'SELECT at, status, output FROM discovery_check_history WHERE instance_id = ? AND check_id = ? ORDER BY seq DESC LIMIT ?',
      ),
      change: db.prepare('INSERT INTO discovery_changes (at, kind, service, instance_id, detail) VALUES (?, ?, ?, ?, ?)'),
      trimChanges: db.prepare('DELETE FROM discovery_changes WHERE seq <= ?'),
      savePolicy: db.prepare(`INSERT INTO discovery_services (name, strategy, hash_header, outlier, updated_at) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (name) DO UPDATE SET strategy = excluded.strategy, hash_header = excluded.hash_header, outlier = excluded.outlier, updated_at = excluded.updated_at`),
    };
    this.#entries.clear();
    const checkRows = new Map<string, CheckRow[]>();
    for (const row of db.prepare('SELECT * FROM discovery_check_state').all() as CheckRow[]) {
      const list = checkRows.get(row.instance_id) ?? [];
      list.push(row);
      checkRows.set(row.instance_id, list);
    }
    for (const row of db.prepare('SELECT * FROM discovery_instances').all() as InstanceRow[]) {
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
      const saved = new Map((checkRows.get(row.id) ?? []).map((c) => [c.check_id, c]));
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
      this.#entries.set(entry.id, entry);
    }
    for (const row of db.prepare('SELECT * FROM discovery_services').all() as {
      name: string;
      strategy: Strategy;
      hash_header: string | null;
      outlier: string;
    }[]) {
      this.#policies.set(row.name, {
        strategy: row.strategy,
        hashHeader: row.hash_header,
        outlier: { ...defaultPolicy.outlier, ...(JSON.parse(row.outlier) as Partial<OutlierPolicy>) },
      });
    }
    this.#index = (db.prepare('SELECT coalesce(max(seq), 0) AS n FROM discovery_changes').get() as { n: number }).n;
    this.#closing = false;
    this.#passing.clear();
  }

  get #s(): Record<string, Statement> {
    if (this.#stmts === null) throw new Error('The registry is not loaded');
    return this.#stmts;
  }

  /** The registry index: the sequence of the last real change. Watchers wait for it to pass theirs. */
  get index(): number {
    return this.#index;
  }

  get size(): number {
    return this.#entries.size;
  }

  onChange(listener: (change: RegistryChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Every instance's resolved checks, for the checker to schedule at start. */
  scheduled(): { id: string; checks: readonly ResolvedCheck[] }[] {
    return [...this.#entries.values()].map((e) => ({ id: e.id, checks: [...e.checks.values()].map((c) => c.def) }));
  }

  register(input: RegisterInput): Instance {
    if (input.version !== undefined && semver.valid(input.version) === null) {
      throw new PhError('PH_DISCOVERY_BAD_VERSION', `${JSON.stringify(input.version)} is not a semantic version (like 1.4.2)`, {
        field: 'version',
      });
    }
    const id = input.id ?? `${input.name}-${input.address}-${input.port}`;
    const existing = this.#entries.get(id);
    if (existing === undefined && this.#entries.size >= MAX_INSTANCES) {
      throw new PhError('PH_DISCOVERY_LIMIT', `The registry holds ${MAX_INSTANCES} instances; deregister some first`);
    }
    const defs = input.checks ?? [];
    const resolved = resolveChecks(defs, input);
    const now = this.clock.now();
    const entry: Entry = {
      id,
      name: input.name,
      address: input.address,
      port: input.port,
      tags: [...new Set(input.tags ?? [])],
      meta: { ...(input.meta ?? {}) },
      version: input.version ?? null,
      weight: input.weight ?? 1,
      defs,
      checks: new Map(),
      maintenance: existing?.maintenance ?? null,
      registeredAt: existing?.registeredAt ?? now,
      updatedAt: now,
      lastHeartbeatAt: existing?.lastHeartbeatAt ?? null,
      state: 'critical',
    };
    for (const def of resolved) {
      const kept = existing?.checks.get(def.id);
      entry.checks.set(
        def.id,
        kept !== undefined && sameCheck(kept.def, def)
          ? kept
          : {
              def,
              damp: { status: def.initialStatus, successes: 0, failures: 0 },
              output: 'Not checked yet',
              checkedAt: null,
              changedAt: now,
              criticalSince: def.initialStatus === 'critical' ? now : null,
            },
      );
    }
    entry.state = stateOf(entry);
    if (existing !== undefined && fingerprint(existing) === fingerprint(entry)) return this.#toInstance(existing);

    this.db.transaction(() => {
      this.#s.upsert!.run(rowOf(entry));
      this.#s.removeChecksExcept!.run(id, JSON.stringify([...entry.checks.keys()]));
      for (const check of entry.checks.values()) this.#saveCheck(entry.id, check);
      this.#recordChange('registered', entry, existing === undefined ? null : 'updated');
    })();
    this.#entries.set(id, entry);
    this.#invalidate(entry.name);
    if (existing !== undefined && existing.name !== entry.name) this.#invalidate(existing.name);
    const instance = this.#toInstance(entry);
    this.bus.publish('service.registered', instance);
    this.#emit({ kind: 'registered', id, checks: resolved });
    this.#wake(entry.name);
    this.#replicate({ kind: 'upsert', snapshot: snapshotOf(entry) });
    return instance;
  }

  /** Removes an instance. `actor` is set when Pilothouse itself removes it (deregister-after), for the audit log. */
  deregister(id: string, reason = 'deregistered', systemActor?: string): { id: string; name: string } {
    const entry = this.#get(id);
    this.db.transaction(() => {
      this.#s.remove!.run(id);
      this.#recordChange('deregistered', entry, reason);
    })();
    this.#entries.delete(id);
    this.#invalidate(entry.name);
    if (systemActor !== undefined)
      this.audit.append({ actor: systemActor, action: 'services.deregister', target: id, outcome: 'ok', detail: reason });
    this.bus.publish('service.deregistered', { id, name: entry.name, reason, at: iso(this.clock.now()) });
    this.#emit({ kind: 'deregistered', id });
    this.#wake(entry.name);
    this.#replicate({ kind: 'remove', id, reason });
    return { id, name: entry.name };
  }

  /** Feeds the instance's TTL checks a result (passing unless a status is given). */
  heartbeat(id: string, status: CheckStatus = 'passing', output?: string): Instance {
    const entry = this.#get(id);
    entry.lastHeartbeatAt = this.clock.now();
    for (const check of entry.checks.values()) {
      if (check.def.kind === 'ttl') this.recordResult(id, check.def.id, { status, output: output ?? `Heartbeat: ${status}` });
    }
    this.#emit({ kind: 'heartbeat', id });
    this.#replicate({ kind: 'heartbeat', id, at: entry.lastHeartbeatAt });
    return this.#toInstance(entry);
  }

  /**
   * One check result, through flap damping. Output and check time are kept in memory; a status
   * change is written with its history row and bumps the index; an instance state change goes out
   * as `service.health`. Results for instances or checks no longer registered are dropped.
   */
  recordResult(id: string, checkId: string, result: CheckResult): void {
    const entry = this.#entries.get(id);
    const check = entry?.checks.get(checkId);
    if (entry === undefined || check === undefined) return;
    const now = this.clock.now();
    const before = check.damp.status;
    const after = applyResult(check.damp, result.status, check.def);
    check.output = truncate(result.output);
    check.checkedAt = now;
    if (after === before) return;
    check.changedAt = now;
    check.criticalSince = after === 'critical' ? now : null;
    const previous = entry.state;
    entry.state = stateOf(entry);
    this.db.transaction(() => {
      this.#saveCheck(id, check);
      this.#s.history!.run(id, checkId, iso(now), after, check.output);
      this.#s.trimHistory!.run(id, checkId, id, checkId);
      this.#recordChange('check', entry, `${checkId}: ${before} → ${after}`);
    })();
    if (previous !== entry.state) {
      this.#invalidate(entry.name);
      this.bus.publish('service.health', {
        id,
        name: entry.name,
        state: entry.state,
        previous,
        check: { id: checkId, status: after, output: check.output },
        at: iso(now),
      });
    }
    this.#wake(entry.name);
    this.#replicate({ kind: 'upsert', snapshot: snapshotOf(entry) });
  }

  setMaintenance(id: string, enabled: boolean, reason?: string): Instance {
    const entry = this.#get(id);
    if (enabled === (entry.maintenance !== null) && (!enabled || reason === undefined || reason === entry.maintenance?.reason))
      return this.#toInstance(entry);
    const now = this.clock.now();
    const previous = entry.state;
    entry.maintenance = enabled ? { reason: reason ?? 'Maintenance', since: now } : null;
    entry.updatedAt = now;
    entry.state = stateOf(entry);
    this.db.transaction(() => {
      this.#s.upsert!.run(rowOf(entry));
      this.#recordChange('maintenance', entry, enabled ? `on: ${entry.maintenance?.reason ?? ''}` : 'off');
    })();
    this.#invalidate(entry.name);
    if (previous !== entry.state) {
      this.bus.publish('service.health', { id, name: entry.name, state: entry.state, previous, check: null, at: iso(now) });
    }
    this.#wake(entry.name);
    this.#replicate({ kind: 'upsert', snapshot: snapshotOf(entry) });
    return this.#toInstance(entry);
  }

  /** Instances whose check has been critical longer than its `deregisterAfterMs`, with the reason. */
  overdue(now: number): { id: string; reason: string }[] {
    const out: { id: string; reason: string }[] = [];
    for (const entry of this.#entries.values()) {
      for (const check of entry.checks.values()) {
        const after = check.def.deregisterAfterMs;
        if (after !== null && check.damp.status === 'critical' && check.criticalSince !== null && now - check.criticalSince >= after) {
          out.push({ id: entry.id, reason: `check ${check.def.id} critical for more than ${after} ms` });
          break;
        }
      }
    }
    return out;
  }

  get(id: string, historyLimit = HISTORY_PER_CHECK): Instance {
    return this.#toInstance(this.#get(id), historyLimit);
  }

  has(id: string): boolean {
    return this.#entries.has(id);
  }

  list(filter: InstanceFilter = {}): Instance[] {
    const match = matcher(filter);
    return [...this.#entries.values()]
      .filter(match)
      .sort(byNameThenId)
      .map((e) => this.#toInstance(e));
  }

  summary(filter: InstanceFilter = {}): ServiceSummary[] {
    const match = matcher(filter);
    const byName = new Map<string, Entry[]>();
    for (const entry of this.#entries.values()) {
      if (!match(entry)) continue;
      const list = byName.get(entry.name) ?? [];
      list.push(entry);
      byName.set(entry.name, list);
    }
    return [...byName.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, list]) => {
        const counts = { passing: 0, warning: 0, critical: 0, maintenance: 0 };
        for (const e of list) counts[e.state] += 1;
        const versions = [...new Set(list.map((e) => e.version).filter((v): v is string => v !== null))].sort(semver.compare);
        return {
          name,
          instances: list.length,
          counts,
          tags: [...new Set(list.flatMap((e) => e.tags))].sort(),
          versions,
          policy: this.policy(name),
        };
      });
  }

  /** Instances by health state across every service. */
  counts(): Record<HealthState, number> {
    const counts = { passing: 0, warning: 0, critical: 0, maintenance: 0 };
    for (const entry of this.#entries.values()) counts[entry.state] += 1;
    return counts;
  }

  /** Passing instances of a service (not maintenance, warning or critical), as the balancer sees them. */
  passing(name: string): readonly Target[] {
    let list = this.#passing.get(name);
    if (list === undefined) {
      list = [...this.#entries.values()]
        .filter((e) => e.name === name && e.state === 'passing')
        .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
        .map((e) => ({ id: e.id, name: e.name, address: e.address, port: e.port, weight: e.weight }));
      this.#passing.set(name, list);
    }
    return list;
  }

  policy(name: string): ServicePolicy {
    return this.#policies.get(name) ?? defaultPolicy;
  }

  configure(name: string, patch: { strategy?: Strategy; hashHeader?: string | null; outlier?: Partial<OutlierPolicy> }): ServicePolicy {
    const current = this.policy(name);
    const next: ServicePolicy = {
      strategy: patch.strategy ?? current.strategy,
      hashHeader: patch.hashHeader === undefined ? current.hashHeader : patch.hashHeader === null ? null : patch.hashHeader.toLowerCase(),
      outlier: { ...current.outlier, ...patch.outlier },
    };
    this.#writePolicy(name, next);
    for (const listener of this.#policyEdits) listener(name, next);
    return next;
  }

  /**
   * The balancing policies as a fleet-wide table sees them (`ReplicaSource` in main/fleet): an edit
   * here is reported, and one that won on another node is applied here.
   */
  policyReplicaSource() {
    return {
      rows: (): Iterable<readonly [string, ServicePolicy]> => [...this.#policies].map(([name, policy]) => [name, policy] as const),
      apply: (name: string, policy: ServicePolicy | null): void => this.#writePolicy(name, policy),
      onLocalChange: (listener: (name: string, policy: ServicePolicy | null) => void): (() => void) => {
        this.#policyEdits.add(listener);
        return () => this.#policyEdits.delete(listener);
      },
    };
  }

  #writePolicy(name: string, policy: ServicePolicy | null): void {
    if (policy === null) {
      this.db.prepare('DELETE FROM discovery_services WHERE name = ?').run(name);
      this.#policies.delete(name);
      return;
    }
    this.#s.savePolicy!.run(name, policy.strategy, policy.hashHeader, JSON.stringify(policy.outlier), iso(this.clock.now()));
    this.#policies.set(name, policy);
  }

  /**
   * Long-poll: resolves with the instances matching `filter` once the index passes `index` by a
   * change to a service the filter covers, or when `waitMs` runs out (`changed: false`). An index
   * older than the current one returns at once, so a client that missed changes catches up.
   */
  async watch(filter: InstanceFilter, index: number, waitMs: number): Promise<{ index: number; changed: boolean; instances: Instance[] }> {
    matcher(filter); // validates the version range before waiting
    if (this.#index > index || waitMs === 0) return { index: this.#index, changed: this.#index > index, instances: this.list(filter) };
    const changed = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        resolve(false);
      }, waitMs);
      const waiter: Waiter = {
        filter,
        index,
        resolve: (changed) => {
          clearTimeout(timer);
          resolve(changed);
        },
      };
      this.#waiters.push(waiter);
    });
    return { index: this.#index, changed, instances: this.list(filter) };
  }

  /** Set once the watches were released for shutdown: long-poll answers then close their connection. */
  get closing(): boolean {
    return this.#closing;
  }

  /** Ends every pending watch now (shutdown), each returning what it would see. */
  releaseWatchers(): void {
    this.#closing = true;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w.resolve(false);
  }

  #get(id: string): Entry {
    const entry = this.#entries.get(id);
    if (entry === undefined)
      throw new PhError('PH_DISCOVERY_NOT_FOUND', `There is no service instance with id ${JSON.stringify(id)}`, { field: 'id' });
    return entry;
  }

  #saveCheck(id: string, check: LiveCheck): void {
    this.#s.saveCheck!.run(
      id,
      check.def.id,
      check.damp.status,
      check.output,
      check.checkedAt === null ? null : iso(check.checkedAt),
      iso(check.changedAt),
      check.criticalSince === null ? null : iso(check.criticalSince),
    );
  }

  #recordChange(kind: string, entry: Entry, detail: string | null): void {
    const result = this.#s.change!.run(iso(this.clock.now()), kind, entry.name, entry.id, detail);
    this.#index = Number(result.lastInsertRowid);
    if (this.#index % 500 === 0) this.#s.trimChanges!.run(this.#index - CHANGES_KEPT);
  }

  #invalidate(name: string): void {
    this.#passing.delete(name);
  }

  #wake(name: string): void {
    if (this.#waiters.length === 0) return;
    const keep: Waiter[] = [];
    for (const w of this.#waiters) {
      if (this.#index > w.index && (w.filter.name === undefined || w.filter.name === name)) w.resolve(true);
      else keep.push(w);
    }
    this.#waiters = keep;
  }

  /** Hears every change made on this node (not those applied from other nodes). */
  onReplicate(listener: (message: Replication) => void): () => void {
    this.#replicators.add(listener);
    return () => this.#replicators.delete(listener);
  }

  snapshot(id: string): InstanceSnapshot | null {
    const entry = this.#entries.get(id);
    return entry === undefined ? null : snapshotOf(entry);
  }

  snapshots(): InstanceSnapshot[] {
    return [...this.#entries.values()].map(snapshotOf);
  }

  /**
   * Applies a change made on another node: written, published on this node's bus, and handed to
   * this node's checker, but never replicated back. An upsert replaces the instance with the
   * other node's view (its definition and its checks' status as their owner last saw them).
   */
  applyRemote(message: Replication): void {
    if (message.kind === 'remove') {
      if (!this.#entries.has(message.id)) return;
      const entry = this.#get(message.id);
      this.db.transaction(() => {
        this.#s.remove!.run(message.id);
        this.#recordChange('deregistered', entry, message.reason);
      })();
      this.#entries.delete(message.id);
      this.#invalidate(entry.name);
      this.bus.publish('service.deregistered', { id: message.id, name: entry.name, reason: message.reason, at: iso(this.clock.now()) });
      this.#emit({ kind: 'deregistered', id: message.id });
      this.#wake(entry.name);
      return;
    }
    if (message.kind === 'heartbeat') {
      const entry = this.#entries.get(message.id);
      if (entry === undefined) return;
      entry.lastHeartbeatAt = message.at;
      this.#emit({ kind: 'heartbeat', id: message.id });
      return;
    }
    const snap = message.snapshot;
    const existing = this.#entries.get(snap.id);
    const entry: Entry = {
      id: snap.id,
      name: snap.name,
      address: snap.address,
      port: snap.port,
      tags: snap.tags,
      meta: snap.meta,
      version: snap.version,
      weight: snap.weight,
      defs: snap.defs,
      checks: new Map(),
      maintenance: snap.maintenance,
      registeredAt: snap.registeredAt,
      updatedAt: snap.updatedAt,
      lastHeartbeatAt: snap.lastHeartbeatAt,
      state: 'critical',
    };
    const states = new Map(snap.checks.map((c) => [c.id, c]));
    for (const def of resolveChecks(snap.defs, entry)) {
      const s = states.get(def.id);
      const kept = existing?.checks.get(def.id);
      entry.checks.set(def.id, {
        def,
        // Damping counts stay with this node's own runs, when it runs the check.
        damp: { status: s?.status ?? def.initialStatus, successes: kept?.damp.successes ?? 0, failures: kept?.damp.failures ?? 0 },
        output: s?.output ?? 'Not checked yet',
        checkedAt: s?.checkedAt ?? null,
        changedAt: s?.changedAt ?? snap.updatedAt,
        criticalSince: s?.criticalSince ?? null,
      });
    }
    entry.state = stateOf(entry);
    const definitionChanged = existing === undefined || fingerprint(existing) !== fingerprint(entry);
    const statusChanged =
      existing === undefined ||
      [...entry.checks.values()].some((c) => existing.checks.get(c.def.id)?.damp.status !== c.damp.status) ||
      existing.maintenance?.reason !== entry.maintenance?.reason;
    if (!definitionChanged && !statusChanged) {
      // Only output moved: keep it in memory, as for local results.
      for (const c of entry.checks.values()) {
        const mine = existing.checks.get(c.def.id);
        if (mine !== undefined) Object.assign(mine, { output: c.output, checkedAt: c.checkedAt });
      }
      return;
    }
    const previous = existing?.state;
    this.db.transaction(() => {
      this.#s.upsert!.run(rowOf(entry));
      this.#s.removeChecksExcept!.run(entry.id, JSON.stringify([...entry.checks.keys()]));
      for (const check of entry.checks.values()) {
        this.#saveCheck(entry.id, check);
        const before = existing?.checks.get(check.def.id)?.damp.status;
        if (existing !== undefined && before !== undefined && before !== check.damp.status) {
          this.#s.history!.run(entry.id, check.def.id, iso(check.changedAt), check.damp.status, check.output);
          this.#s.trimHistory!.run(entry.id, check.def.id, entry.id, check.def.id);
        }
      }
      this.#recordChange(definitionChanged ? 'registered' : 'check', entry, 'from another node');
    })();
    this.#entries.set(entry.id, entry);
    this.#invalidate(entry.name);
    if (existing !== undefined && existing.name !== entry.name) this.#invalidate(existing.name);
    if (definitionChanged) {
      this.bus.publish('service.registered', this.#toInstance(entry));
      this.#emit({ kind: 'registered', id: entry.id, checks: [...entry.checks.values()].map((c) => c.def) });
    } else {
      this.#emit({ kind: 'adopted', id: entry.id, checks: [...entry.checks.values()].map((c) => c.def) });
    }
    if (previous !== undefined && previous !== entry.state) {
      this.bus.publish('service.health', {
        id: entry.id,
        name: entry.name,
        state: entry.state,
        previous,
        check: null,
        at: iso(this.clock.now()),
      });
    }
    this.#wake(entry.name);
  }

  #replicate(message: Replication): void {
    for (const listener of this.#replicators) listener(message);
  }

  #emit(change: RegistryChange): void {
    for (const listener of this.#listeners) listener(change);
  }

  #toInstance(entry: Entry, historyLimit = 0): Instance {
    return {
      id: entry.id,
      name: entry.name,
      address: entry.address,
      port: entry.port,
      tags: [...entry.tags],
      meta: { ...entry.meta },
      version: entry.version,
      weight: entry.weight,
      state: entry.state,
      maintenance: entry.maintenance === null ? null : { reason: entry.maintenance.reason, since: iso(entry.maintenance.since) },
      registeredAt: iso(entry.registeredAt),
      updatedAt: iso(entry.updatedAt),
      lastHeartbeatAt: entry.lastHeartbeatAt === null ? null : iso(entry.lastHeartbeatAt),
      checks: [...entry.checks.values()].map((c) => {
        const state: CheckState = {
          id: c.def.id,
          kind: c.def.kind,
          target: describeTarget(c.def),
          intervalMs: c.def.intervalMs,
          status: c.damp.status,
          output: c.output,
          checkedAt: c.checkedAt === null ? null : iso(c.checkedAt),
          changedAt: iso(c.changedAt),
          criticalSince: c.criticalSince === null ? null : iso(c.criticalSince),
          deregisterAfterMs: c.def.deregisterAfterMs,
        };
        if (historyLimit > 0) {
          state.history = this.#s.readHistory!.all(entry.id, c.def.id, historyLimit) as {
            at: string;
            status: CheckStatus;
            output: string;
          }[];
        }
        return state;
      }),
    };
  }
}

/** Maintenance wins; otherwise the worst check; an instance without checks passes. */
function stateOf(entry: Entry): HealthState {
  if (entry.maintenance !== null) return 'maintenance';
  let worst: CheckStatus = 'passing';
  for (const check of entry.checks.values()) if (severity[check.damp.status] > severity[worst]) worst = check.damp.status;
  return worst;
}

function matcher(filter: InstanceFilter): (entry: Entry) => boolean {
  const range = filter.versionRange;
  if (range !== undefined && semver.validRange(range) === null) {
    throw new PhError('PH_DISCOVERY_BAD_RANGE', `${JSON.stringify(range)} is not a semver range (like ^1.2 or >=2 <3)`, {
      field: 'versionRange',
    });
  }
  return (e) =>
    (filter.name === undefined || e.name === filter.name) &&
    (filter.tag === undefined || e.tags.includes(filter.tag)) &&
    (filter.state === undefined || e.state === filter.state) &&
    (range === undefined || (e.version !== null && semver.satisfies(e.version, range)));
}

function byNameThenId(a: Entry, b: Entry): number {
  return a.name === b.name ? (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) : a.name < b.name ? -1 : 1;
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

function snapshotOf(entry: Entry): InstanceSnapshot {
  return {
    id: entry.id,
    name: entry.name,
    address: entry.address,
    port: entry.port,
    tags: entry.tags,
    meta: entry.meta,
    version: entry.version,
    weight: entry.weight,
    defs: entry.defs,
    maintenance: entry.maintenance,
    registeredAt: entry.registeredAt,
    updatedAt: entry.updatedAt,
    lastHeartbeatAt: entry.lastHeartbeatAt,
    checks: [...entry.checks.values()].map((c) => ({
      id: c.def.id,
      status: c.damp.status,
      output: c.output,
      checkedAt: c.checkedAt,
      changedAt: c.changedAt,
      criticalSince: c.criticalSince,
    })),
  };
}

/** What makes two registrations the same registration. */
function fingerprint(entry: Entry): string {
  return JSON.stringify([
    entry.name,
    entry.address,
    entry.port,
    entry.tags,
    entry.meta,
    entry.version,
    entry.weight,
    [...entry.checks.values()].map((c) => c.def),
  ]);
}
