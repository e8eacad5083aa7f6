import type { Database, Statement } from 'better-sqlite3';
import { Type, type Static } from '@sinclair/typebox';
import type { ReplicaSource } from '../fleet';
import { GENESIS, chainHash } from './audit-chain';
import type { AuditEntry, AuditLog, AuditVerification } from './audit-log';
import { encodeAuditCursor, type AuditCursor } from './audit-cursor';
import { auditFilterClauses, type AuditFilter } from './audit-filter';

/** One audit row as the fleet table `audit` carries it; its id is `<node>:<seq>`. */
export const AuditRowRecordSchema = Type.Object(
  {
    node: Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$' }),
    seq: Type.Integer({ minimum: 1 }),
    /** The first seq of this node's fleet-keyed chain: where a verifier starts. */
    from: Type.Integer({ minimum: 1 }),
    at: Type.String({ maxLength: 40 }),
    actor: Type.String({ maxLength: 1000 }),
    action: Type.String({ maxLength: 200 }),
    target: Type.Union([Type.String({ maxLength: 4000 }), Type.Null()]),
    outcome: Type.Union([Type.Literal('ok'), Type.Literal('error')]),
    detail: Type.Union([Type.String({ maxLength: 20_000 }), Type.Null()]),
    prevHash: Type.String({ pattern: '^[0-9a-f]{64}$' }),
    hash: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  },
  { additionalProperties: false },
);
export type AuditRowRecord = Static<typeof AuditRowRecordSchema>;

/** A page of the fleet's trail and where the next one starts (null: this was the last). */
export interface FleetAuditPage {
  entries: AuditEntry[];
  total: number;
  nextCursor: string | null;
}

export type ChainVerification = Omit<AuditVerification, 'head' | 'chains'> & { node: string };

interface RemoteRow {
  node: string;
  seq: number;
  chain_from: number;
  at: string;
  actor: string;
  action: string;
  target: string | null;
  outcome: 'ok' | 'error';
  detail: string | null;
  prev_hash: string;
  hash: string;
}

/**
 * The fleet's one audit trail. Each node keeps its own HMAC chain (the chain's name is the node id)
 * and publishes its rows through the fleet table `audit`; every other node stores them in
 * `audit_remote` and can list the whole fleet's trail and verify every chain, since the audit key
 * is derived from the fleet secret on every node. Rows are never updated or deleted: a record for a
 * row already held is ignored, as is one that claims to be from this node (its own log is the truth).
 */
export class FleetAuditTrail {
  readonly #insert: Statement;

  constructor(
    private readonly db: Database,
    private readonly log: AuditLog,
    private readonly node: string,
    private readonly fleetKey: Buffer,
  ) {
    this.#insert = db.prepare(
      `INSERT OR IGNORE INTO audit_remote (node, seq, chain_from, at, actor, action, target, outcome, detail, prev_hash, hash)
       VALUES (@node, @seq, @from, @at, @actor, @action, @target, @outcome, @detail, @prevHash, @hash)`,
    );
  }

  replicaSource(): ReplicaSource<AuditRowRecord> {
    const records = (fromSeq: number): (readonly [string, AuditRowRecord])[] => {
      const fleetFrom = this.log.fleetFrom;
      if (fleetFrom === null) return [];
      // After a retention cut the chain others can hold starts after the anchor (docs/fleet.md).
      const from = Math.max(fleetFrom, this.log.anchor.seq + 1);
      return this.log
        .rowsFrom(Math.max(from, fromSeq))
        .map((row) => [`${this.node}:${row.seq}`, { node: this.node, from, ...row }] as const);
    };
    return {
      rows: () => records(1),
      apply: (id, record) => {
        if (record === null || record.node === this.node || id !== `${record.node}:${record.seq}`) return;
        this.#insert.run(record);
      },
      onLocalChange: (listener) =>
        this.log.onAppend((entry) => {
          for (const [id, record] of records(entry.seq)) if (record.seq === entry.seq) listener(id, record);
        }),
    };
  }

  /**
   * Every node's rows, newest first (by time, then node, then seq: a total order), a page at a time:
   * `cursor` is where the last page ended, so rows sharing its millisecond are neither lost nor
   * repeated. `beforeAt` keeps only rows before an instant; the filters are those of one node's list,
   * and `total` counts every row of the fleet they match.
   */
  list(options: AuditFilter & { limit?: number; beforeAt?: string; cursor?: AuditCursor }): FleetAuditPage {
    const limit = options.limit ?? 50;
    const filter = auditFilterClauses(options);
    const where: string[] = [...filter.where];
    const args: (string | number)[] = [...filter.args];
    if (options.beforeAt !== undefined) {
      where.push('at < ?');
      args.push(new Date(options.beforeAt).toISOString());
    }
    if (options.cursor !== undefined) {
      where.push('(at, node, seq) < (?, ?, ?)');
      args.push(options.cursor.at, options.cursor.node, options.cursor.seq);
    }
    const rows = this.db
      .prepare(
        `SELECT * FROM (
           SELECT ? AS node, seq, at, actor, action, target, outcome, detail, hash FROM audit_log
           UNION ALL
           SELECT node, seq, at, actor, action, target, outcome, detail, hash FROM audit_remote
         ) ${where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`} ORDER BY at DESC, node DESC, seq DESC LIMIT ?`,
      )
      .all(this.node, ...args, limit + 1) as (AuditEntry & { node: string })[];
    const more = rows.length > limit;
    if (more) rows.length = limit;
    const last = rows.at(-1);
    const matching = filter.where.length === 0 ? '' : `WHERE ${filter.where.join(' AND ')}`;
    const count = (table: string): number =>
      (this.db.prepare(`SELECT count(*) AS n FROM ${table} ${matching}`).get(...filter.args) as { n: number }).n;
    return {
      entries: rows,
      total: count('audit_log') + count('audit_remote'),
      nextCursor: more && last !== undefined ? encodeAuditCursor(last) : null,
    };
  }

  /** Walks each other node's chain from where it joined the fleet: the first row whose link, hash or number does not hold. */
  verify(): ChainVerification[] {
    const nodes = (this.db.prepare('SELECT DISTINCT node FROM audit_remote ORDER BY node').all() as { node: string }[]).map((r) => r.node);
    return nodes.map((node) => this.#verifyChain(node));
  }

  #verifyChain(node: string): ChainVerification {
    let rows = 0;
    let expected: number | null = null;
    let prev = '';
    const broken = (seq: number, reason: 'hash' | 'link' | 'sequence'): ChainVerification => ({
      node,
      intact: false,
      rows,
      firstBad: { seq, reason },
    });
    // Retention cut this copy up to its anchor (audit-retention.ts): the chain goes on from there.
    const anchor = this.db.prepare('SELECT seq, hash FROM audit_remote_anchor WHERE node = ?').get(node) as
      { seq: number; hash: string } | undefined;
    const iterate = this.db
      .prepare('SELECT * FROM audit_remote WHERE node = ? AND seq > ? ORDER BY seq')
      .iterate(node, anchor?.seq ?? 0) as IterableIterator<RemoteRow>;
    for (const row of iterate) {
      if (expected === null && anchor !== undefined && anchor.seq >= row.chain_from) {
        expected = anchor.seq + 1;
        prev = anchor.hash;
      }
      if (expected === null) {
        // The chain other nodes hold starts where this node joined the fleet; before that it was keyed with its own key.
        expected = row.chain_from;
        prev = row.seq === 1 ? GENESIS : row.prev_hash;
      }
      if (row.seq !== expected) return broken(expected, 'sequence');
      if (row.prev_hash !== prev) return broken(row.seq, 'link');
      if (chainHash(this.fleetKey, prev, row) !== row.hash) return broken(row.seq, 'hash');
      prev = row.hash;
      expected += 1;
      rows += 1;
    }
    return { node, intact: true, rows, firstBad: null };
  }
}
