import type { Database, Statement } from 'better-sqlite3';
import type { Static } from '@sinclair/typebox';
import type { AuditEntrySchema, AuditVerificationSchema } from '../../contract/ops/security';
import type { Clock } from '../clock';
import { GENESIS, chainHash, type ChainedFields } from './audit-chain';
import { AuditHeadFile, type AuditHead } from './audit-head';
import { ensureAuditTriggers } from './audit-triggers';

export type AuditEntry = Static<typeof AuditEntrySchema>;
export type AuditVerification = Static<typeof AuditVerificationSchema>;

export interface AuditRecord {
  readonly actor: string;
  readonly action: string;
  readonly target?: string | null;
  readonly outcome: 'ok' | 'error';
  readonly detail?: string | null;
}

interface AuditRow extends ChainedFields {
  prev_hash: string;
  hash: string;
}

export interface AuditLogOptions {
  /** The audit HMAC key, from the secret store: never in the database. */
  readonly key: Buffer;
  /** Where the chain head is written out (`<dataDir>/audit.head`); null keeps none (unit tests). */
  readonly headPath: string | null;
}

/** What the start-up checks found and repaired; the composition root logs it. */
export interface AuditStartReport {
  readonly restoredTriggers: string[];
  /** Set when the head file was missing or not signed with our key (and this was not the key's first start). */
  readonly headLost: 'missing' | 'invalid' | null;
  /** Rows the head file vouched for that are gone or replaced: the first such seq. */
  readonly truncatedFrom: number | null;
}

/**
 * Append-only, HMAC-chained log of every change made through Pilothouse. Triggers refuse UPDATE and
 * DELETE (and are re-created at start if someone dropped them); each row's hash is an HMAC, with a
 * key kept outside the database, over the previous row's hash and its own fields, so a row edited
 * behind SQLite's back cannot be made to verify again. The head of the chain is written to a signed
 * file now and then, so rows cut from the end are found too.
 */
export class AuditLog {
  readonly #listeners = new Set<(entry: AuditEntry) => void>();
  readonly #key: Buffer;
  readonly #head: AuditHeadFile | null;
  readonly #last: Statement<[], { seq: number; hash: string }>;
  #keyedFrom = 1;
  #written: AuditHead | null = null;
  #truncatedFrom: number | null = null;

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    options: AuditLogOptions,
  ) {
    this.#key = options.key;
    this.#head = options.headPath === null ? null : new AuditHeadFile(options.headPath, options.key);
    this.#last = db.prepare('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1');
  }

  /**
   * Runs once at start: restores the triggers, reads the head file and checks that the rows it
   * vouches for are still there. `firstKey` says the audit key was made by this start: rows already
   * in the log were hashed without a key, and the head written now marks where keyed rows begin.
   */
  checkAtStart(firstKey: boolean): AuditStartReport {
    const restoredTriggers = ensureAuditTriggers(this.db);
    let headLost: AuditStartReport['headLost'] = null;
    const head = this.#head?.read() ?? 'missing';
    if (typeof head === 'object') {
      this.#keyedFrom = head.keyedFrom;
      this.#written = head;
    } else if (firstKey) {
      this.#keyedFrom = (this.#last.get()?.seq ?? 0) + 1;
    } else if (this.#head !== null) {
      headLost = head;
    }
    if (restoredTriggers.length > 0) {
      this.append({ actor: 'system', action: 'audit.triggers.restored', outcome: 'error', detail: restoredTriggers.join(', ') });
    }
    if (headLost !== null) {
      this.append({ actor: 'system', action: 'audit.head.lost', outcome: 'error', detail: `the head file was ${headLost}` });
    }
    this.writeHead(true);
    return { restoredTriggers, headLost, truncatedFrom: this.#truncatedFrom };
  }

  append(record: AuditRecord): AuditEntry {
    const entry = this.db
      .transaction(() => {
        const last = this.#last.get();
        const row: ChainedFields = {
          seq: (last?.seq ?? 0) + 1,
          at: new Date(this.clock.now()).toISOString(),
          actor: record.actor,
          action: record.action,
          target: record.target ?? null,
          outcome: record.outcome,
          detail: record.detail ?? null,
        };
        const prev = last?.hash ?? GENESIS;
        const hash = chainHash(this.#keyFor(row.seq), prev, row);
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

  /** Writes the chain head out when it moved (or always, with `force`). Called on a timer and at stop. */
  writeHead(force = false): void {
    if (this.#head === null) return;
    this.#checkTail();
    const last = this.#last.get();
    const seq = last?.seq ?? 0;
    const hash = last?.hash ?? GENESIS;
    if (!force && this.#written?.seq === seq && this.#written.hash === hash) return;
    const head: AuditHead = { keyedFrom: this.#keyedFrom, seq, hash, at: new Date(this.clock.now()).toISOString() };
    this.#head.write(head);
    this.#written = head;
  }

  /**
   * Before the head moves on, the row it names must still be there unchanged; if not, rows were cut
   * from the end. That is recorded (an audit row, and `verify()` reports it until restart) before a
   * new head would hide it.
   */
  #checkTail(): void {
    const written = this.#written;
    if (written === null || written.seq === 0 || this.#truncatedFrom !== null) return;
    if (this.#hashAt(written.seq) === written.hash) return;
    const max = this.#last.get()?.seq ?? 0;
    this.#truncatedFrom = max < written.seq ? max + 1 : written.seq;
    const detail = `rows from ${this.#truncatedFrom} to ${written.seq}, written out at ${written.at}, are gone or replaced`;
    this.append({ actor: 'system', action: 'audit.truncated', outcome: 'error', detail });
  }

  /**
   * Walks the whole chain and compares its end with the head written out: the first row whose hash,
   * link or number does not hold, or the first row the head vouches for that is gone.
   */
  verify(): AuditVerification {
    let prev = GENESIS;
    let expectedSeq = 1;
    let rows = 0;
    const headOut = this.#written === null ? null : { seq: this.#written.seq, at: this.#written.at };
    const broken = (seq: number | null, reason: NonNullable<AuditVerification['firstBad']>['reason']): AuditVerification => ({
      intact: false,
      rows,
      firstBad: { seq, reason },
      head: headOut,
    });
    for (const row of this.db.prepare('SELECT * FROM audit_log ORDER BY seq').iterate() as IterableIterator<AuditRow>) {
      if (row.seq !== expectedSeq) return broken(expectedSeq, 'sequence');
      if (row.prev_hash !== prev) return broken(row.seq, 'link');
      if (chainHash(this.#keyFor(row.seq), prev, row) !== row.hash) return broken(row.seq, 'hash');
      prev = row.hash;
      expectedSeq += 1;
      rows += 1;
    }
    if (this.#truncatedFrom !== null) return broken(this.#truncatedFrom, 'truncated');
    const written = this.#written;
    if (written !== null && written.seq > rows) return broken(rows + 1, 'truncated');
    if (written !== null && written.seq > 0 && this.#hashAt(written.seq) !== written.hash) return broken(written.seq, 'truncated');
    return { intact: true, rows, firstBad: null, head: headOut };
  }

  #hashAt(seq: number): string | undefined {
    return (this.db.prepare('SELECT hash FROM audit_log WHERE seq = ?').get(seq) as { hash: string } | undefined)?.hash;
  }

  #keyFor(seq: number): Buffer | null {
    return seq >= this.#keyedFrom ? this.#key : null;
  }
}
