import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import semver from 'semver';
import { PhError } from '../../contract/errors';
import { HOST_OR_ADDRESS_PATTERN } from '../../contract/ops/discovery';
import { describeTarget, resolveChecks } from './check-definition';
import { OUTPUT_LIMIT_CHARS } from './defaults';
import { isoTime } from '../iso-time';
import type { DampedState } from './flap-damper';
import type { CheckDefinition, CheckState, CheckStatus, HealthState, Instance, InstanceFilter, ResolvedCheck } from './types';

/** What the balancer needs of an instance; the arrays are rebuilt only when a service changes. */
export interface Target {
  readonly id: string;
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly weight: number;
}

/** One check of one instance as the registry keeps it in memory. */
export interface LiveCheck {
  def: ResolvedCheck;
  damp: DampedState;
  output: string;
  checkedAt: number | null;
  changedAt: number;
  criticalSince: number | null;
}

/** One registered instance in memory; times are epoch milliseconds. */
export interface Entry {
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

/** A status change kept in a check's history. */
export interface HistoryRow {
  at: string;
  status: CheckStatus;
  output: string;
}

const HOST_OR_ADDRESS = new RegExp(HOST_OR_ADDRESS_PATTERN);
const ID_MAX = 128;
const NOT_IN_ID = /[^A-Za-z0-9._:@-]/g;

/**
 * Refuses an instance address or check host that is neither a host name nor an IP address. The
 * contract's pattern checks the API's input; this checks every way in (a LAN service adopted too),
 * and that something with a colon is a real IPv6 address, which a pattern alone cannot say.
 */
export function refuseMalformedHost(host: string, field: string): void {
  const zone = host.indexOf('%');
  if (host.length <= 253 && HOST_OR_ADDRESS.test(host) && (!host.includes(':') || isIP(zone === -1 ? host : host.slice(0, zone)) === 6))
    return;
  throw new PhError('PH_INVALID_INPUT', `${JSON.stringify(host.slice(0, 80))} is not a host name or an IP address`, { field });
}

/**
 * The id of an instance registered without one: `<name>-<address>-<port>` when that is a valid id
 * (nearly always). An IPv6 zone's '%' becomes '-', and one longer than an id may be (a long host
 * name) keeps its start and ends in a hash of the whole, so that every default id can be read,
 * deregistered and replicated like one the caller chose.
 */
export function defaultInstanceId(name: string, address: string, port: number): string {
  const plain = `${name}-${address}-${port}`;
  const safe = plain.replace(NOT_IN_ID, '-');
  if (safe === plain && plain.length <= ID_MAX) return plain;
  const hash = createHash('sha256').update(plain).digest('hex').slice(0, 16);
  return `${safe.slice(0, ID_MAX - hash.length - 1)}-${hash}`;
}

export const iso = (ms: number): string => new Date(ms).toISOString();
export const truncate = (text: string): string => (text.length > OUTPUT_LIMIT_CHARS ? `${text.slice(0, OUTPUT_LIMIT_CHARS - 1)}…` : text);
const severity: Record<CheckStatus, number> = { passing: 0, warning: 1, critical: 2 };

/** A check nobody has run yet: its configured initial status, critical since now if that is critical. */
export function freshCheck(def: ResolvedCheck, now: number): LiveCheck {
  return {
    def,
    damp: { status: def.initialStatus, successes: 0, failures: 0 },
    output: 'Not checked yet',
    checkedAt: null,
    changedAt: now,
    criticalSince: def.initialStatus === 'critical' ? now : null,
  };
}

/** Maintenance wins; otherwise the worst check; an instance without checks passes. */
export function stateOf(entry: Entry): HealthState {
  if (entry.maintenance !== null) return 'maintenance';
  let worst: CheckStatus = 'passing';
  for (const check of entry.checks.values()) if (severity[check.damp.status] > severity[worst]) worst = check.damp.status;
  return worst;
}

export function matcher(filter: InstanceFilter): (entry: Entry) => boolean {
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

export function byNameThenId(a: Entry, b: Entry): number {
  return a.name === b.name ? (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) : a.name < b.name ? -1 : 1;
}

export function snapshotOf(entry: Entry): InstanceSnapshot {
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

/**
 * The entry another node describes. Check status comes from the snapshot; damping counts stay
 * with this node's own runs (from `existing`), since this node may run the same check.
 */
export function entryFromSnapshot(snap: InstanceSnapshot, existing: Entry | undefined): Entry {
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
      damp: { status: s?.status ?? def.initialStatus, successes: kept?.damp.successes ?? 0, failures: kept?.damp.failures ?? 0 },
      output: s?.output ?? 'Not checked yet',
      checkedAt: s?.checkedAt ?? null,
      changedAt: s?.changedAt ?? snap.updatedAt,
      criticalSince: s?.criticalSince ?? null,
    });
  }
  entry.state = stateOf(entry);
  return entry;
}

/** What makes two registrations the same registration. */
export function fingerprint(entry: Entry): string {
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

/**
 * The contract's view of an entry; `history` reads a check's recent status changes when asked for.
 * Its instants come from the shared cache (iso-time.ts): lists show the same ones on every call.
 */
export function toInstance(entry: Entry, history: ((checkId: string) => HistoryRow[]) | null): Instance {
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
    maintenance: entry.maintenance === null ? null : { reason: entry.maintenance.reason, since: isoTime(entry.maintenance.since) },
    registeredAt: isoTime(entry.registeredAt),
    updatedAt: isoTime(entry.updatedAt),
    lastHeartbeatAt: entry.lastHeartbeatAt === null ? null : isoTime(entry.lastHeartbeatAt),
    checks: [...entry.checks.values()].map((c) => {
      const state: CheckState = {
        id: c.def.id,
        kind: c.def.kind,
        target: describeTarget(c.def),
        intervalMs: c.def.intervalMs,
        status: c.damp.status,
        output: c.output,
        checkedAt: c.checkedAt === null ? null : isoTime(c.checkedAt),
        changedAt: isoTime(c.changedAt),
        criticalSince: c.criticalSince === null ? null : isoTime(c.criticalSince),
        deregisterAfterMs: c.def.deregisterAfterMs,
      };
      if (history !== null) state.history = history(c.def.id);
      return state;
    }),
  };
}
