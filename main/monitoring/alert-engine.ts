import type { Static } from '@sinclair/typebox';
import type { Database, Statement } from 'better-sqlite3';
import { PhError } from '../../contract/errors';
import type { AlertEventSchema, AlertSchema, AlertStateSchema, RuleStatusSchema } from '../../contract/ops/monitoring';
import type { Clock } from '../clock';
import { AlertSilences } from './alert-silences';
import type { AlertRule } from './default-rules';

export type Alert = Static<typeof AlertSchema>;
export type AlertEvent = Static<typeof AlertEventSchema>;
export type AlertState = Static<typeof AlertStateSchema>;
export type RuleStatus = Static<typeof RuleStatusSchema>;

interface RuleState {
  state: AlertState;
  /** When the current state began (epoch ms). */
  since: number;
  value: number | null;
}

/** Keeps the history bounded: older state changes beyond this many are pruned. */
export const MAX_ALERT_EVENTS = 10_000;

export function conditionHolds(rule: Pick<AlertRule, 'comparator' | 'threshold'>, value: number): boolean {
  switch (rule.comparator) {
    case '>':
      return value > rule.threshold;
    case '>=':
      return value >= rule.threshold;
    case '<':
      return value < rule.threshold;
    case '<=':
      return value <= rule.threshold;
    case '==':
      return value === rule.threshold;
    case '!=':
      return value !== rule.threshold;
    default:
      return false;
  }
}

/**
 * Alert rules on any series: when a rule's condition holds it goes pending, and firing once it has
 * held for `forSeconds`; when it stops holding a firing alert resolves (a pending one just goes back
 * to inactive). A series with no value (not registered yet, no traffic) changes nothing. Every
 * transition is stored in the history and handed to listeners (the EventBus, Prometheus).
 */
export class AlertEngine {
  readonly #rules = new Map<string, AlertRule>();
  readonly #states = new Map<string, RuleState>();
  readonly #listeners = new Set<(alert: Alert) => void>();
  readonly #edits = new Set<(id: string, rule: AlertRule | null) => void>();
  readonly #insertEvent: Statement;
  /** Each rule's series value at the last evaluation (null: the series had none). */
  readonly #lastValues = new Map<string, number | null>();
  readonly silences: AlertSilences;

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {
    this.silences = new AlertSilences(db);
    this.#insertEvent = db.prepare(
      'INSERT INTO monitoring_alert_events (at, rule_id, name, severity, state, value, message) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    for (const row of db.prepare('SELECT rule FROM monitoring_alert_rules ORDER BY id').all() as { rule: string }[]) {
      const rule = JSON.parse(row.rule) as AlertRule;
      this.#rules.set(rule.id, rule);
    }
  }

  onTransition(listener: (alert: Alert) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  rules(): AlertRule[] {
    return [...this.#rules.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  /** Alerts now pending or firing, firing first, critical before warning. */
  active(): Alert[] {
    const rank = { critical: 0, warning: 1, info: 2 } as const;
    return [...this.#states.entries()]
      .filter(([, s]) => s.state === 'pending' || s.state === 'firing')
      .map(([id, s]) => this.#alertOf(this.#rules.get(id) as AlertRule, s))
      .sort(
        (a, b) =>
          Number(b.state === 'firing') - Number(a.state === 'firing') ||
          rank[a.severity] - rank[b.severity] ||
          a.ruleId.localeCompare(b.ruleId),
      );
  }

  firing(): Alert[] {
    return this.active().filter((a) => a.state === 'firing');
  }

  stateOf(ruleId: string): AlertState {
    return this.#states.get(ruleId)?.state ?? 'inactive';
  }

  /**
   * Every rule's state as an operator reads it: a rule whose series has had no value at the last
   * evaluation (never registered, no traffic yet) says "no-data" rather than looking calm.
   */
  status(): RuleStatus[] {
    return this.rules().map((rule) => {
      const current = this.#states.get(rule.id);
      const value = this.#lastValues.get(rule.id) ?? null;
      const live = current !== undefined && (current.state === 'pending' || current.state === 'firing');
      const silence = this.silences.get(rule.id);
      return {
        ruleId: rule.id,
        state: live ? current.state : value === null && rule.enabled ? 'no-data' : (current?.state ?? 'inactive'),
        value: live ? current.value : value,
        acknowledged: live && this.#acknowledged(rule.id, current.since),
        silence,
      };
    });
  }

  /** Acknowledges the rule's alert (on every node, through the fleet table). */
  acknowledge(ruleId: string, by: string) {
    this.#rule(ruleId);
    return this.silences.acknowledge(ruleId, by, this.clock.now());
  }

  /** Silences the rule's notifications for `seconds` from now (0: lifts it). */
  silence(ruleId: string, by: string, seconds: number) {
    this.#rule(ruleId);
    return this.silences.silence(ruleId, by, seconds === 0 ? null : this.clock.now() + seconds * 1000);
  }

  #rule(id: string): AlertRule {
    const rule = this.#rules.get(id);
    if (rule === undefined) throw new PhError('PH_MONITORING_RULE_NOT_FOUND', `There is no alert rule ${JSON.stringify(id)}`);
    return rule;
  }

  #acknowledged(ruleId: string, since: number): boolean {
    const at = this.silences.get(ruleId)?.acknowledgedAt ?? null;
    return at !== null && Date.parse(at) >= since;
  }

  save(rule: AlertRule): AlertRule {
    this.#write(rule.id, rule);
    for (const listener of this.#edits) listener(rule.id, rule);
    return rule;
  }

  delete(id: string): void {
    this.#rule(id);
    this.#write(id, null);
    for (const listener of this.#edits) listener(id, null);
    this.silences.forget(id);
  }

  /**
   * The rules as a fleet-wide table sees them (`ReplicaSource` in main/fleet): every node holds every
   * rule; an edit here is reported, and an edit that won on another node is applied here.
   */
  replicaSource() {
    return {
      rows: (): Iterable<readonly [string, AlertRule]> => [...this.#rules].map(([id, rule]) => [id, rule] as const),
      apply: (id: string, rule: AlertRule | null): void => this.#write(id, rule),
      onLocalChange: (listener: (id: string, rule: AlertRule | null) => void): (() => void) => {
        this.#edits.add(listener);
        return () => this.#edits.delete(listener);
      },
    };
  }

  /** Stores a rule (null: deletes it); a changed or removed rule's alert starts over. */
  #write(id: string, rule: AlertRule | null): void {
    const previous = this.#rules.get(id);
    if (rule === null) {
      this.db.prepare('DELETE FROM monitoring_alert_rules WHERE id = ?').run(id);
      this.#rules.delete(id);
      if (previous !== undefined) this.#reset(id, previous, 'rule deleted');
      return;
    }
    this.db
      .prepare('INSERT INTO monitoring_alert_rules (id, rule) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET rule = excluded.rule')
      .run(id, JSON.stringify(rule));
    this.#rules.set(id, rule);
    // A changed condition starts over: a firing alert resolves and is judged afresh next tick.
    if (previous !== undefined && JSON.stringify(previous) !== JSON.stringify(rule)) this.#reset(id, previous, 'rule changed');
  }

  /** Judges every enabled rule against this tick's values. Returns the transitions it made. */
  evaluate(values: Readonly<Record<string, number | null>>): Alert[] {
    const now = this.clock.now();
    const changes: Alert[] = [];
    for (const rule of this.#rules.values()) {
      const current = this.#states.get(rule.id) ?? { state: 'inactive' as AlertState, since: now, value: null };
      if (!rule.enabled) {
        if (current.state === 'pending' || current.state === 'firing') changes.push(...this.#reset(rule.id, rule, 'rule disabled'));
        continue;
      }
      const value = values[rule.metric];
      this.#lastValues.set(rule.id, value ?? null);
      if (value === undefined || value === null) continue;
      const holds = conditionHolds(rule, value);
      let next: AlertState = current.state;
      if (holds) {
        if (current.state === 'inactive' || current.state === 'resolved') next = rule.forSeconds === 0 ? 'firing' : 'pending';
        else if (current.state === 'pending' && now - current.since >= rule.forSeconds * 1000) next = 'firing';
      } else if (current.state === 'firing') next = 'resolved';
      else if (current.state === 'pending') next = 'inactive';
      if (next === current.state) {
        current.value = value;
        this.#states.set(rule.id, current);
        continue;
      }
      const state = { state: next, since: now, value };
      this.#states.set(rule.id, state);
      changes.push(this.#record(rule, state));
    }
    return changes;
  }

  history(options: { limit?: number; beforeId?: number; ruleId?: string } = {}): AlertEvent[] {
    const rows = this.db
      .prepare(
        `SELECT id, at, rule_id, name, severity, state, value, message FROM monitoring_alert_events
         WHERE (@before IS NULL OR id < @before) AND (@rule IS NULL OR rule_id = @rule) ORDER BY id DESC LIMIT @limit`,
      )
      .all({ before: options.beforeId ?? null, rule: options.ruleId ?? null, limit: options.limit ?? 100 }) as {
      id: number;
      at: number;
      rule_id: string;
      name: string;
      severity: AlertEvent['severity'];
      state: AlertState;
      value: number | null;
      message: string;
    }[];
    return rows.map((r) => ({
      id: r.id,
      at: new Date(r.at).toISOString(),
      ruleId: r.rule_id,
      name: r.name,
      severity: r.severity,
      state: r.state,
      value: r.value,
      message: r.message,
    }));
  }

  #reset(id: string, rule: AlertRule, why: string): Alert[] {
    const current = this.#states.get(id);
    this.#states.delete(id);
    if (current === undefined || (current.state !== 'firing' && current.state !== 'pending')) return [];
    const next: RuleState = { state: current.state === 'firing' ? 'resolved' : 'inactive', since: this.clock.now(), value: current.value };
    return [this.#record(rule, next, why)];
  }

  #record(rule: AlertRule, state: RuleState, why?: string): Alert {
    const alert = this.#alertOf(rule, state, why);
    const info = this.#insertEvent.run(state.since, rule.id, rule.name, rule.severity, state.state, state.value, alert.message);
    const id = Number(info.lastInsertRowid);
    if (id % 500 === 0) this.db.prepare('DELETE FROM monitoring_alert_events WHERE id <= ?').run(id - MAX_ALERT_EVENTS);
    for (const listener of this.#listeners) listener(alert);
    return alert;
  }

  #alertOf(rule: AlertRule, state: RuleState, why?: string): Alert {
    const silence = this.silences.get(rule.id);
    const live = state.state === 'pending' || state.state === 'firing';
    return {
      acknowledgedAt: live && this.#acknowledged(rule.id, state.since) ? (silence?.acknowledgedAt ?? null) : null,
      acknowledgedBy: live && this.#acknowledged(rule.id, state.since) ? (silence?.acknowledgedBy ?? null) : null,
      silencedUntil: this.silences.isSilenced(rule.id, this.clock.now()) ? (silence?.silencedUntil ?? null) : null,
      ruleId: rule.id,
      name: rule.name,
      severity: rule.severity,
      state: state.state,
      metric: rule.metric,
      value: state.value,
      threshold: rule.threshold,
      comparator: rule.comparator,
      since: new Date(state.since).toISOString(),
      message: messageOf(rule, state, why),
    };
  }
}

function messageOf(rule: AlertRule, state: RuleState, why?: string): string {
  const value = state.value === null ? 'no data' : formatValue(state.value);
  const condition = `${rule.metric} is ${value} (rule: ${rule.comparator} ${formatValue(rule.threshold)}`;
  switch (state.state) {
    case 'pending':
      return `${rule.name}: ${condition}); fires if it lasts ${rule.forSeconds} s`;
    case 'firing':
      return `${rule.name}: ${condition}${rule.forSeconds > 0 ? ` for ${rule.forSeconds} s or more` : ''}). ${rule.description}`.trim();
    case 'resolved':
      return `${rule.name} resolved${why === undefined ? `: ${rule.metric} is ${value}` : ` (${why})`}`;
    default:
      return `${rule.name}: back to normal${why === undefined ? '' : ` (${why})`}`;
  }
}

export function formatValue(value: number): string {
  if (Number.isInteger(value)) return String(value);
  return Math.abs(value) >= 100 ? value.toFixed(0) : Math.abs(value) >= 1 ? value.toFixed(2) : value.toPrecision(2);
}
