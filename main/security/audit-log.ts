import { createHash } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import type { Static } from '@sinclair/typebox';
import type { AuditEntrySchema } from '../../contract/ops/security';
import type { Clock } from '../clock';
import type { AuditRecord } from '../core';

export type AuditEntry = Static<typeof AuditEntrySchema>;

interface AuditRow {
  seq: number;
  at: string;
  actor: string;
  action: string;
  target: string | null;
  outcome: 'ok' | 'error';
  detail: string | null;
  prev_hash: string;
  hash: string;
}

const GENESIS = '0'.repeat(64);

function chainHash(prev: string, row: Omit<AuditRow, 'prev_hash' | 'hash'>): string {
  const body = JSON.stringify([row.seq, row.at, row.actor, row.action, row.target, row.outcome, row.detail]);
  return createHash('sha256').update(prev).update('\n').update(body).digest('hex');
}

/**
 * Append-only, hash-chained log of every change made through Pilothouse. Triggers refuse UPDATE and
 * DELETE; each row's hash covers the previous row's hash, so an edit made behind SQLite's back (with
 * the triggers dropped) breaks the chain from that row on and `verify()` says so.
 */
export class AuditLog {
  readonly #listeners = new Set<(entry: AuditEntry) => void>();

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {}

  append(record: AuditRecord): AuditEntry {
    const entry = this.db
      .transaction(() => {
        const last = this.db.prepare('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1').get() as
          { seq: number; hash: string } | undefined;
        const row = {
          seq: (last?.seq ?? 0) + 1,
          at: new Date(this.clock.now()).toISOString(),
          actor: record.actor,
          action: record.action,
          target: record.target ?? null,
          outcome: record.outcome,
          detail: record.detail ?? null,
        };
        const prev = last?.hash ?? GENESIS;
        const hash = chainHash(prev, row);
        this.db
          .prepare(
            `INSERT INTO audit_log (seq, at, actor, action, target, outcome, detail, prev_hash, hash)
           VALUES (@seq, @at, @actor, @action, @target, @outcome, @detail, @prev, @hash)`,
          )
          .run({ ...row, prev, hash });
        return { ...row, hash };
      })
      .immediate();
    for (const listener of this.#listeners) listener(entry);
    return entry;
  }

  onAppend(listener: (entry: AuditEntry) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  list(options: { limit?: number; beforeSeq?: number } = {}): { entries: AuditEntry[]; total: number } {
    const limit = options.limit ?? 50;
    const rows = this.db
      .prepare(`SELECT * FROM audit_log WHERE seq < ? ORDER BY seq DESC LIMIT ?`)
      .all(options.beforeSeq ?? Number.MAX_SAFE_INTEGER, limit) as AuditRow[];
    const total = (this.db.prepare('SELECT count(*) AS n FROM audit_log').get() as { n: number }).n;
    return {
      entries: rows.map(({ prev_hash: _prev, ...entry }) => entry),
      total,
    };
  }

  /** Walks the whole chain; returns the first seq whose hash does not hold, or null when intact. */
  verify(): { intact: boolean; brokenAt: number | null } {
    let prev = GENESIS;
    let expectedSeq = 1;
    for (const row of this.db.prepare('SELECT * FROM audit_log ORDER BY seq').iterate() as IterableIterator<AuditRow>) {
      if (row.seq !== expectedSeq || row.prev_hash !== prev || chainHash(prev, row) !== row.hash) {
        return { intact: false, brokenAt: row.seq };
      }
      prev = row.hash;
      expectedSeq += 1;
    }
    return { intact: true, brokenAt: null };
  }
}
