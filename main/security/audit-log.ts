import type { Database, Statement } from 'better-sqlite3';
import type { Static } from '@sinclair/typebox';
import type { AuditEntrySchema, AuditVerificationSchema } from '../../contract/ops/security';
import type { Clock } from '../clock';
import type { AuditRecord } from '../core';
import { GENESIS, chainHash, type ChainedFields } from './audit-chain';
import { auditFilterClauses, type AuditFilter } from './audit-filter';
import { AuditHeadFile, type AuditAnchor, type AuditHead } from './audit-head';
import { ensureAuditTriggers } from './audit-triggers';

export type AuditEntry = Static<typeof AuditEntrySchema>;
export type AuditVerification = Static<typeof AuditVerificationSchema>;

export interface AuditQuery extends AuditFilter {
  readonly limit?: number;
  readonly beforeSeq?: number;
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
  /**
   * In a fleet: the audit key every node derives from the fleet secret. Rows appended from the first
   * start in the fleet on are hashed with it, so every node can verify this node's chain.
   */
  readonly fleetKey?: Buffer | null;
  /** This node's id: the chain's name in a fleet, carried by every entry listed. */
  readonly node?: string;
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
  readonly #fleetKey: Buffer | null;
  readonly #node: string | undefined;
  #fleetFrom: number | null = null;
  readonly #head: AuditHeadFile | null;
  readonly #last: Statement<[], { seq: number; hash: string }>;
  #keyedFrom = 1;
  #written: AuditHead | null = null;
  #truncatedFrom: number | null = null;
  /** The head file as it was when the log was opened. */
  readonly #headAtOpen: AuditHead | 'missing' | 'invalid';
  /** The last row retention cut, as the head file vouches for it (the genesis when none was). */
  #anchor: AuditAnchor = { seq: 0, hash: GENESIS };
  /** Set when the database names a later anchor than the head vouches for: rows cut behind our back. */
  #unvouchedAnchor: number | null = null;
  readonly #dbAnchor: Statement<[], AuditAnchor>;

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    options: AuditLogOptions,
  ) {
    this.#key = options.key;
    this.#fleetKey = options.fleetKey ?? null;
    this.#node = options.node;
    this.#head = options.headPath === null ? null : new AuditHeadFile(options.headPath, options.key);
    this.#last = db.prepare('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1');
    this.#dbAnchor = db.prepare('SELECT seq, hash FROM audit_anchor WHERE id = 1');
    // Read now, so a head written by any caller keeps where keyed rows begin and checks the tail first.
    this.#headAtOpen = this.#head?.read() ?? 'missing';
    if (typeof this.#headAtOpen === 'object') {
      this.#keyedFrom = this.#headAtOpen.keyedFrom;
      this.#fleetFrom = this.#headAtOpen.fleetFrom ?? null;
      this.#written = this.#headAtOpen;
      this.#anchor = this.#headAtOpen.anchor ?? this.#anchor;
    } else {
      // No head to vouch for it (its loss is reported at start): the database's anchor is all there is.
      this.#anchor = this.#dbAnchor.get() ?? this.#anchor;
    }
  }

  /**
   * Runs once at start: restores the triggers, reads the head file and checks that the rows it
   * vouches for are still there. `firstKey` says the audit key was made by this start: rows already
   * in the log were hashed without a key, and the head written now marks where keyed rows begin.
   */
  checkAtStart(firstKey: boolean): AuditStartReport {
    const restoredTriggers = ensureAuditTriggers(this.db);
    let headLost: AuditStartReport['headLost'] = null;
    const head = this.#headAtOpen;
    const next = (this.#last.get()?.seq ?? 0) + 1;
    if (typeof head !== 'object') {
      if (firstKey) this.#keyedFrom = next;
      else if (this.#head !== null) headLost = head;
    }
    // The first start in a fleet: the rows before were hashed with this node's own key only.
    if (this.#fleetKey !== null && this.#fleetFrom === null) this.#fleetFrom = next;
    // Before anything is appended, or the first new row would take the place of the first one cut.
    this.#checkTail();
    this.#checkAnchor();
    if (restoredTriggers.length > 0) {
      this.append({ actor: 'system', action: 'audit.triggers.restored', outcome: 'error', detail: restoredTriggers.join(', ') });
    }
    if (headLost !== null) {
      this.append({ actor: 'system', action: 'audit.head.lost', outcome: 'error', detail: `the head file was ${headLost}` });
    }
    // Said in the trail itself: a key made while rows exist is an upgrade, or a key file someone deleted.
    if (typeof head !== 'object' && firstKey && this.#keyedFrom > 1) {
      const detail = `rows 1 to ${this.#keyedFrom - 1} were written before the audit key existed and carry unkeyed hashes`;
      this.append({ actor: 'system', action: 'audit.keyed', outcome: 'ok', detail });
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
        const hash = chainHash(this.keyFor(row.seq), prev, row);
        this.db
          .prepare(
            `INSERT INTO audit_log (seq, at, actor, action, target, outcome, detail, prev_hash, hash)
           VALUES (@seq, @at, @actor, @action, @target, @outcome, @detail, @prev, @hash)`,
          )
          .run({ ...row, prev, hash });
        return { ...row, hash, ...(this.#node === undefined ? {} : { node: this.#node }) };
      })
      .immediate();
    for (const listener of this.#listeners) listener(entry);
    return entry;
  }

  onAppend(listener: (entry: AuditEntry) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * This node's rows, newest first, a page at a time (`beforeSeq`), narrowed by who, what (an
   * operation name or its start), on what (a part of the target) and when; `total` counts every row
   * the filters match.
   */
  list(options: AuditQuery = {}): { entries: AuditEntry[]; total: number } {
    const limit = options.limit ?? 50;
    const { where, args } = auditFilterClauses(options);
    const filtered = where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`;
    const total = (this.db.prepare(`SELECT count(*) AS n FROM audit_log ${filtered}`).get(...args) as { n: number }).n;
    const rows = this.db
      .prepare(`SELECT * FROM audit_log WHERE seq < ? ${where.length === 0 ? '' : `AND ${where.join(' AND ')}`} ORDER BY seq DESC LIMIT ?`)
      .all(options.beforeSeq ?? Number.MAX_SAFE_INTEGER, ...args, limit) as AuditRow[];
    return {
      entries: rows.map(({ prev_hash: _prev, ...entry }) => (this.#node === undefined ? entry : { ...entry, node: this.#node })),
      total,
    };
  }

  /** Writes the chain head out when it moved (or always, with `force`). Called on a timer and at stop. */
  writeHead(force = false): void {
    if (this.#head === null) return;
    this.#checkTail();
    this.#checkAnchor();
    const last = this.#last.get();
    const seq = last?.seq ?? 0;
    const hash = last?.hash ?? GENESIS;
    if (!force && this.#written?.seq === seq && this.#written.hash === hash) return;
    const head: AuditHead = {
      keyedFrom: this.#keyedFrom,
      seq,
      hash,
      at: new Date(this.clock.now()).toISOString(),
      ...(this.#fleetFrom === null ? {} : { fleetFrom: this.#fleetFrom }),
      ...(this.#anchor.seq === 0 ? {} : { anchor: this.#anchor }),
    };
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
   * Rows cut from the start must be cut by retention, which writes the head with the new anchor
   * before any row goes: an anchor in the database past the one the head vouches for means rows were
   * deleted behind Pilothouse's back. Recorded once, like a truncation.
   */
  #checkAnchor(): void {
    if (this.#unvouchedAnchor !== null) return;
    const stored = this.#dbAnchor.get();
    if (stored === undefined || stored.seq <= this.#anchor.seq) return;
    this.#unvouchedAnchor = this.#anchor.seq + 1;
    const detail = `the database says rows up to ${stored.seq} were cut; the head vouches for a cut up to ${this.#anchor.seq} only`;
    this.append({ actor: 'system', action: 'audit.anchor.unvouched', outcome: 'error', detail });
  }

  /** The last row cut by retention as the head vouches for it (seq 0: none was). */
  get anchor(): AuditAnchor {
    return this.#anchor;
  }

  /**
   * Moves the anchor on and writes the head that vouches for it, before the rows up to it are
   * deleted: a crash in between leaves rows the verifier skips, never an anchor the head does not know.
   */
  vouchAnchor(anchor: AuditAnchor): void {
    if (anchor.seq <= this.#anchor.seq) return;
    this.#anchor = anchor;
    this.writeHead(true);
  }

  /** The key each row is hashed with, and from which rows on (for an archive that verifies on its own). */
  get keyRanges(): { keyedFrom: number; fleetFrom: number | null } {
    return { keyedFrom: this.#keyedFrom, fleetFrom: this.#fleetFrom };
  }

  /**
   * Walks the chain from the anchor on and compares its end with the head written out: the first row
   * whose hash, link or number does not hold, or the first row the head vouches for that is gone.
   */
  verify(): AuditVerification {
    const anchor = this.#anchor;
    let prev = anchor.hash;
    let expectedSeq = anchor.seq + 1;
    let rows = 0;
    const headOut = this.#written === null ? null : { seq: this.#written.seq, at: this.#written.at };
    const broken = (seq: number | null, reason: NonNullable<AuditVerification['firstBad']>['reason']): AuditVerification => ({
      intact: false,
      rows,
      firstBad: { seq, reason },
      head: headOut,
      ...anchorOut,
    });
    const anchorOut = anchor.seq === 0 ? {} : { anchor };
    this.#checkAnchor();
    if (this.#unvouchedAnchor !== null) return broken(this.#unvouchedAnchor, 'anchor');
    const iterate = this.db.prepare('SELECT * FROM audit_log WHERE seq > ? ORDER BY seq').iterate(anchor.seq) as IterableIterator<AuditRow>;
    for (const row of iterate) {
      if (row.seq !== expectedSeq) return broken(expectedSeq, 'sequence');
      if (row.prev_hash !== prev) return broken(row.seq, 'link');
      if (chainHash(this.keyFor(row.seq), prev, row) !== row.hash) return broken(row.seq, 'hash');
      prev = row.hash;
      expectedSeq += 1;
      rows += 1;
    }
    if (this.#truncatedFrom !== null) return broken(this.#truncatedFrom, 'truncated');
    const written = this.#written;
    if (written !== null && written.seq >= expectedSeq) return broken(expectedSeq, 'truncated');
    if (written !== null && written.seq > anchor.seq && this.#hashAt(written.seq) !== written.hash) return broken(written.seq, 'truncated');
    return { intact: true, rows, firstBad: null, head: headOut, ...anchorOut };
  }

  #hashAt(seq: number): string | undefined {
    return (this.db.prepare('SELECT hash FROM audit_log WHERE seq = ?').get(seq) as { hash: string } | undefined)?.hash;
  }

  /** The first seq hashed with the fleet key (the start of the chain other nodes hold), or null outside a fleet. */
  get fleetFrom(): number | null {
    return this.#fleetFrom;
  }

  /** Rows from `seq` on, with their links: what this node publishes for the others. */
  rowsFrom(seq: number): (ChainedFields & { prevHash: string; hash: string })[] {
    const rows = this.db.prepare('SELECT * FROM audit_log WHERE seq >= ? ORDER BY seq').all(seq) as AuditRow[];
    return rows.map(({ prev_hash, ...row }) => ({ ...row, prevHash: prev_hash }));
  }

  /** The key row `seq` is hashed with: none before the audit key existed, the fleet's from the first start in a fleet. */
  keyFor(seq: number): Buffer | null {
    if (this.#fleetFrom !== null && this.#fleetKey !== null && seq >= this.#fleetFrom) return this.#fleetKey;
    return seq >= this.#keyedFrom ? this.#key : null;
  }
}
