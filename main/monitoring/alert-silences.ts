import type { Static } from '@sinclair/typebox';
import type { Database } from 'better-sqlite3';
import type { AlertSilenceSchema } from '../../contract/ops/monitoring';

export type AlertSilence = Static<typeof AlertSilenceSchema>;

/**
 * What operators said about each rule's alert: acknowledged (by whom, when) and silenced until when.
 * One record per rule, fleet-wide like the rules (main/fleet-tables.ts), so an operator who silences
 * an alert on one node silences it on every node. An acknowledgement covers the alert that was
 * pending or firing when it was made: a later firing (its `since` after the acknowledgement) is news.
 */
export class AlertSilences {
  readonly #records = new Map<string, AlertSilence>();
  readonly #edits = new Set<(id: string, record: AlertSilence | null) => void>();

  constructor(private readonly db: Database) {
    for (const row of db.prepare('SELECT record FROM monitoring_alert_silences').all() as { record: string }[]) {
      const record = JSON.parse(row.record) as AlertSilence;
      this.#records.set(record.ruleId, record);
    }
  }

  get(ruleId: string): AlertSilence | null {
    return this.#records.get(ruleId) ?? null;
  }

  acknowledge(ruleId: string, by: string, at: number): AlertSilence {
    return this.#edit(ruleId, { acknowledgedAt: new Date(at).toISOString(), acknowledgedBy: by });
  }

  /** `until` null lifts a silence. */
  silence(ruleId: string, by: string, until: number | null): AlertSilence {
    return this.#edit(ruleId, {
      silencedUntil: until === null ? null : new Date(until).toISOString(),
      silencedBy: until === null ? null : by,
    });
  }

  /** Drops a deleted rule's record, so a rule made later under the same id starts unsilenced. */
  forget(ruleId: string): void {
    if (!this.#records.has(ruleId)) return;
    this.#write(ruleId, null);
    for (const listener of this.#edits) listener(ruleId, null);
  }

  isSilenced(ruleId: string, now: number): boolean {
    const until = this.#records.get(ruleId)?.silencedUntil ?? null;
    return until !== null && Date.parse(until) > now;
  }

  /** The fleet-wide table's view of the records (`ReplicaSource` in main/fleet). */
  replicaSource() {
    return {
      rows: (): Iterable<readonly [string, AlertSilence]> => [...this.#records].map(([id, r]) => [id, r] as const),
      apply: (id: string, record: AlertSilence | null): void => this.#write(id, record),
      onLocalChange: (listener: (id: string, record: AlertSilence | null) => void): (() => void) => {
        this.#edits.add(listener);
        return () => this.#edits.delete(listener);
      },
    };
  }

  #edit(ruleId: string, change: Partial<AlertSilence>): AlertSilence {
    const record: AlertSilence = {
      ruleId,
      acknowledgedAt: null,
      acknowledgedBy: null,
      silencedUntil: null,
      silencedBy: null,
      ...this.#records.get(ruleId),
      ...change,
    };
    this.#write(ruleId, record);
    for (const listener of this.#edits) listener(ruleId, record);
    return record;
  }

  #write(ruleId: string, record: AlertSilence | null): void {
    if (record === null) {
      this.db.prepare('DELETE FROM monitoring_alert_silences WHERE rule_id = ?').run(ruleId);
      this.#records.delete(ruleId);
      return;
    }
    this.db
      .prepare(
        'INSERT INTO monitoring_alert_silences (rule_id, record) VALUES (?, ?) ON CONFLICT (rule_id) DO UPDATE SET record = excluded.record',
      )
      .run(ruleId, JSON.stringify(record));
    this.#records.set(ruleId, record);
  }
}
