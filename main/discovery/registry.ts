import type { Database } from 'better-sqlite3';
import semver from 'semver';
import { PhError } from '../../contract/errors';
import type { Clock } from '../clock';
import type { EventBus } from '../events';
import type { AuditLog } from '../security';
import { resolveChecks, sameCheck } from './check-definition';
import { HISTORY_PER_CHECK, MAX_INSTANCES } from './defaults';
import { applyResult } from './flap-damper';
import {
  byNameThenId,
  defaultInstanceId,
  fingerprint,
  freshCheck,
  iso,
  matcher,
  refuseMalformedHost,
  snapshotOf,
  stateOf,
  truncate,
  type Entry,
  type InstanceSnapshot,
  type RegistryChange,
  type Replication,
  type Target,
} from './registry-entry';
import { ServicePolicies, type PolicyPatch } from './registry-policies';
import { applyRemote } from './registry-replication';
import { RegistryState } from './registry-state';
import type {
  CheckResult,
  CheckStatus,
  HealthState,
  Instance,
  InstanceFilter,
  RegisterInput,
  ResolvedCheck,
  ServicePolicy,
  ServiceSummary,
} from './types';

export type { InstanceSnapshot, RegistryChange, Replication, Target } from './registry-entry';

/**
 * The catalogue of service instances. SQLite is the record (instances, check states, status
 * history, a change log whose sequence is the watch index); memory holds the same entries for
 * queries and picks, so the balancer never touches the database. Every real change bumps the
 * index, wakes matching watchers and goes out on the event bus; a re-registration that changes
 * nothing bumps nothing and keeps its checks' status (no flapping on re-register).
 * This file holds the local writes and the queries; the state, its store, the watches, the
 * policies and the changes from other nodes each have their own file.
 */
export class ServiceRegistry {
  readonly #state: RegistryState;
  readonly #policies = new ServicePolicies();

  constructor(
    db: Database,
    private readonly clock: Clock,
    private readonly bus: EventBus,
    private readonly audit: AuditLog,
  ) {
    this.#state = new RegistryState(db, clock, bus);
  }

  /** Loads every instance and policy from the database; the checker then schedules their checks. */
  load(): void {
    this.#policies.replaceAll(this.#state.load());
  }

  /** The registry index: the sequence of the last real change. Watchers wait for it to pass theirs. */
  get index(): number {
    return this.#state.index;
  }

  get size(): number {
    return this.#state.entries.size;
  }

  onChange(listener: (change: RegistryChange) => void): () => void {
    return this.#state.onChange(listener);
  }

  /** Every instance's resolved checks, for the checker to schedule at start. */
  scheduled(): { id: string; checks: readonly ResolvedCheck[] }[] {
    return [...this.#state.entries.values()].map((e) => ({ id: e.id, checks: [...e.checks.values()].map((c) => c.def) }));
  }

  register(input: RegisterInput): Instance {
    if (input.version !== undefined && semver.valid(input.version) === null) {
      throw new PhError('PH_DISCOVERY_BAD_VERSION', `${JSON.stringify(input.version)} is not a semantic version (like 1.4.2)`, {
        field: 'version',
      });
    }
    refuseMalformedHost(input.address, 'address');
    for (const [index, check] of (input.checks ?? []).entries())
      if (check.host !== undefined) refuseMalformedHost(check.host, `checks.${index}.host`);
    const state = this.#state;
    const id = input.id ?? defaultInstanceId(input.name, input.address, input.port);
    const existing = state.entries.get(id);
    if (existing === undefined && state.entries.size >= MAX_INSTANCES) {
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
      entry.checks.set(def.id, kept !== undefined && sameCheck(kept.def, def) ? kept : freshCheck(def, now));
    }
    entry.state = stateOf(entry);
    if (existing !== undefined && fingerprint(existing) === fingerprint(entry)) return state.toInstance(existing);

    state.store.transaction(() => {
      state.store.saveEntry(entry, 'with-checks');
      state.recordChange('registered', entry, existing === undefined ? null : 'updated');
    });
    state.entries.set(id, entry);
    state.invalidate(entry.name);
    if (existing !== undefined && existing.name !== entry.name) state.invalidate(existing.name);
    const instance = state.toInstance(entry);
    this.bus.publish('service.registered', instance);
    state.emit({ kind: 'registered', id, checks: resolved });
    state.wake(entry.name);
    state.replicate({ kind: 'upsert', snapshot: snapshotOf(entry) });
    return instance;
  }

  /** Removes an instance. `actor` is set when Pilothouse itself removes it (deregister-after), for the audit log. */
  deregister(id: string, reason = 'deregistered', systemActor?: string): { id: string; name: string } {
    const state = this.#state;
    const entry = state.get(id);
    state.store.transaction(() => {
      state.store.removeEntry(id);
      state.recordChange('deregistered', entry, reason);
    });
    state.entries.delete(id);
    state.invalidate(entry.name);
    if (systemActor !== undefined)
      this.audit.append({ actor: systemActor, action: 'services.deregister', target: id, outcome: 'ok', detail: reason });
    this.bus.publish('service.deregistered', { id, name: entry.name, reason, at: iso(this.clock.now()) });
    state.emit({ kind: 'deregistered', id });
    state.wake(entry.name);
    state.replicate({ kind: 'remove', id, reason });
    return { id, name: entry.name };
  }

  /** Feeds the instance's TTL checks a result (passing unless a status is given). */
  heartbeat(id: string, status: CheckStatus = 'passing', output?: string): Instance {
    const entry = this.#state.get(id);
    entry.lastHeartbeatAt = this.clock.now();
    for (const check of entry.checks.values()) {
      if (check.def.kind === 'ttl') this.recordResult(id, check.def.id, { status, output: output ?? `Heartbeat: ${status}` });
    }
    this.#state.emit({ kind: 'heartbeat', id });
    this.#state.replicate({ kind: 'heartbeat', id, at: entry.lastHeartbeatAt });
    return this.#state.toInstance(entry);
  }

  /**
   * One check result, through flap damping. Output and check time are kept in memory; a status
   * change is written with its history row and bumps the index; an instance state change goes out
   * as `service.health`. Results for instances or checks no longer registered are dropped.
   */
  recordResult(id: string, checkId: string, result: CheckResult): void {
    const state = this.#state;
    const entry = state.entries.get(id);
    const check = entry?.checks.get(checkId);
    if (entry === undefined || check === undefined) return;
    const now = this.clock.now();
    const before = check.damp.status;
    const after = applyResult(check.damp, result.status, check.def);
    const first = check.checkedAt === null;
    check.output = truncate(result.output);
    check.checkedAt = now;
    if (after === before) {
      // Output alone stays on this node, but the first result goes out: otherwise a check that has
      // never changed status reads "Not checked yet" on every other node for as long as it runs.
      if (first) state.replicate({ kind: 'upsert', snapshot: snapshotOf(entry) });
      return;
    }
    check.changedAt = now;
    check.criticalSince = after === 'critical' ? now : null;
    const previous = entry.state;
    entry.state = stateOf(entry);
    state.store.transaction(() => {
      state.store.saveCheck(id, check);
      state.store.addHistory(id, checkId, now, after, check.output);
      state.recordChange('check', entry, `${checkId}: ${before} → ${after}`);
    });
    if (previous !== entry.state) {
      state.invalidate(entry.name);
      this.bus.publish('service.health', {
        id,
        name: entry.name,
        state: entry.state,
        previous,
        check: { id: checkId, status: after, output: check.output },
        at: iso(now),
      });
    }
    state.wake(entry.name);
    state.replicate({ kind: 'upsert', snapshot: snapshotOf(entry) });
  }

  setMaintenance(id: string, enabled: boolean, reason?: string): Instance {
    const state = this.#state;
    const entry = state.get(id);
    if (enabled === (entry.maintenance !== null) && (!enabled || reason === undefined || reason === entry.maintenance?.reason))
      return state.toInstance(entry);
    const now = this.clock.now();
    const previous = entry.state;
    entry.maintenance = enabled ? { reason: reason ?? 'Maintenance', since: now } : null;
    entry.updatedAt = now;
    entry.state = stateOf(entry);
    state.store.transaction(() => {
      state.store.saveEntry(entry, 'row-only');
      state.recordChange('maintenance', entry, enabled ? `on: ${entry.maintenance?.reason ?? ''}` : 'off');
    });
    state.invalidate(entry.name);
    if (previous !== entry.state) {
      this.bus.publish('service.health', { id, name: entry.name, state: entry.state, previous, check: null, at: iso(now) });
    }
    state.wake(entry.name);
    state.replicate({ kind: 'upsert', snapshot: snapshotOf(entry) });
    return state.toInstance(entry);
  }

  /** Instances whose check has been critical longer than its `deregisterAfterMs`, with the reason. */
  overdue(now: number): { id: string; reason: string }[] {
    const out: { id: string; reason: string }[] = [];
    for (const entry of this.#state.entries.values()) {
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
    return this.#state.toInstance(this.#state.get(id), historyLimit);
  }

  has(id: string): boolean {
    return this.#state.entries.has(id);
  }

  /** `health` order puts what needs the operator first: critical, warning, maintenance, then passing. */
  list(filter: InstanceFilter = {}, order: 'name' | 'health' = 'name'): Instance[] {
    const match = matcher(filter);
    const rank = { critical: 0, warning: 1, maintenance: 2, passing: 3 } as const;
    return [...this.#state.entries.values()]
      .filter(match)
      .sort((a, b) => (order === 'health' ? rank[a.state] - rank[b.state] : 0) || byNameThenId(a, b))
      .map((e) => this.#state.toInstance(e));
  }

  summary(filter: InstanceFilter = {}): ServiceSummary[] {
    const match = matcher(filter);
    const byName = new Map<string, Entry[]>();
    for (const entry of this.#state.entries.values()) {
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
    for (const entry of this.#state.entries.values()) counts[entry.state] += 1;
    return counts;
  }

  /** Passing instances of a service (not maintenance, warning or critical), as the balancer sees them. */
  passing(name: string): readonly Target[] {
    return this.#state.passing(name);
  }

  policy(name: string): ServicePolicy {
    return this.#policies.get(name);
  }

  configure(name: string, patch: PolicyPatch): ServicePolicy {
    return this.#policies.configure(this.#state.store, name, patch, this.clock.now());
  }

  /**
   * The balancing policies as a fleet-wide table sees them (`ReplicaSource` in main/fleet): an edit
   * here is reported, and one that won on another node is applied here.
   */
  policyReplicaSource() {
    return this.#policies.replicaSource(this.#state.store, () => this.clock.now());
  }

  /**
   * Long-poll: resolves with the instances matching `filter` once the index passes `index` by a
   * change to a service the filter covers, or when `waitMs` runs out (`changed: false`). An index
   * other than the current one returns at once (`changed: true`): an older one so that a client
   * that missed changes catches up, a newer one because it came from another node, whose index
   * counts that node's own changes (waiting for this node to reach it would miss changes here).
   */
  async watch(filter: InstanceFilter, index: number, waitMs: number): Promise<{ index: number; changed: boolean; instances: Instance[] }> {
    matcher(filter); // validates the version range before waiting
    const current = this.#state.index;
    if (current !== index || waitMs === 0) return { index: current, changed: current !== index, instances: this.list(filter) };
    const changed = await this.#state.watches.wait(filter, index, waitMs);
    return { index: this.#state.index, changed, instances: this.list(filter) };
  }

  /** Ends every pending watch now (shutdown), each returning what it would see. */
  releaseWatchers(): void {
    this.#state.watches.release();
  }

  /** Hears every change made on this node (not those applied from other nodes). */
  onReplicate(listener: (message: Replication) => void): () => void {
    return this.#state.onReplicate(listener);
  }

  snapshot(id: string): InstanceSnapshot | null {
    const entry = this.#state.entries.get(id);
    return entry === undefined ? null : snapshotOf(entry);
  }

  snapshots(): InstanceSnapshot[] {
    return [...this.#state.entries.values()].map(snapshotOf);
  }

  /** Applies a change made on another node (see registry-replication.ts); never replicated back. */
  applyRemote(message: Replication): void {
    applyRemote(this.#state, message);
  }
}
