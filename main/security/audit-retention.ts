import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Database } from 'better-sqlite3';
import type { Clock } from '../clock';
import { durationOf, type RetentionCut } from '../core';
import { chainHash } from './audit-chain';
import { writeAuditArchive, type ArchivedRow } from './audit-archive';
import type { AuditAnchor } from './audit-head';
import type { AuditLog } from './audit-log';

export interface AuditCutPolicy {
  /** Rows older than this go. */
  readonly maxAgeMs: number;
  /** Beyond this many rows, the oldest go. */
  readonly maxRows: number;
  /** Where cut rows are archived first (gzip JSONL), or null to keep no archive. */
  readonly archiveDir: string | null;
}

export interface AuditCutReport {
  /** Rows cut from this node's chain. */
  readonly cut: number;
  /** The anchor the chain now verifies from, or null when nothing was cut. */
  readonly anchor: AuditAnchor | null;
  readonly archive: string | null;
  /** Rows cut from this node's copies of the other nodes' chains. */
  readonly remoteCut: number;
  /** Set when the rows to cut do not verify: they are kept as evidence. */
  readonly refused: string | null;
}

interface Row {
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

const PAGE = 2000;
const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Retention of the audit log that keeps the chain verifiable. The rows to cut are verified first
 * (rows that do not hold are kept as evidence), optionally archived to a file that verifies on its
 * own, then the anchor (seq and hash of the last row cut) is vouched for by the signed head file
 * before any row goes, and the rows are deleted in pages up to it (the trigger refuses a delete past
 * the anchor). The newest row always stays, so the head keeps naming a row that exists. An
 * `audit.cut` row records each cut in the trail itself.
 */
export class AuditRetention {
  constructor(
    private readonly db: Database,
    private readonly log: AuditLog,
    private readonly clock: Clock,
    private readonly node: string | null,
    /** The node's own audit key: signs an archive's trailer. */
    private readonly key: Buffer,
  ) {}

  /** The cut as the maintenance job runs it: this node's chain and its copies of the others'. */
  asCut(policy: AuditCutPolicy): RetentionCut {
    return {
      name: 'audit log',
      tables: ['audit_log', 'audit_remote'],
      keeps: `${durationOf(policy.maxAgeMs)}, at most ${policy.maxRows} rows${policy.archiveDir === null ? '' : ', cut rows archived'}`,
      run: async (_now, signal) => {
        const report = await this.cut(policy, signal);
        return report.cut + report.remoteCut;
      },
    };
  }

  async cut(policy: AuditCutPolicy, signal?: AbortSignal): Promise<AuditCutReport> {
    const remoteCut = await this.#cutRemote(policy, signal);
    const from = this.log.anchor;
    const last = this.db.prepare('SELECT max(seq) AS seq FROM audit_log').get() as { seq: number | null };
    const none = { cut: 0, anchor: null, archive: null, remoteCut, refused: null };
    if (last.seq === null) return none;
    const cutoff = new Date(this.clock.now() - policy.maxAgeMs).toISOString();
    const byAge = (
      this.db.prepare('SELECT max(seq) AS seq FROM audit_log WHERE seq > ? AND at < ?').get(from.seq, cutoff) as { seq: number | null }
    ).seq;
    const upTo = Math.min(Math.max(byAge ?? 0, last.seq - policy.maxRows), last.seq - 1);
    if (upTo <= from.seq) return none;

    const bad = await this.#verifyRange(from, upTo, signal);
    if (bad !== null) {
      const detail = `rows ${from.seq + 1} to ${upTo} were due to be cut but ${bad}; they are kept`;
      this.log.append({ actor: 'system', action: 'audit.cut.refused', outcome: 'error', detail });
      return { ...none, refused: bad };
    }
    const anchor = { seq: upTo, hash: (this.db.prepare('SELECT hash FROM audit_log WHERE seq = ?').get(upTo) as { hash: string }).hash };
    const archive = policy.archiveDir === null ? null : await this.#archive(policy.archiveDir, from, anchor);
    this.log.vouchAnchor(anchor);
    this.db
      .prepare(
        `INSERT INTO audit_anchor (id, seq, hash, cut_at) VALUES (1, @seq, @hash, @at)
         ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, cut_at = excluded.cut_at`,
      )
      .run({ ...anchor, at: new Date(this.clock.now()).toISOString() });
    // In pages, yielding between them, so a large first cut does not stall the node.
    const remove = this.db.prepare('DELETE FROM audit_log WHERE seq > ? AND seq <= ?');
    for (let low = from.seq; low < upTo; low += PAGE) {
      remove.run(low, Math.min(upTo, low + PAGE));
      await yieldToLoop();
    }
    const cut = upTo - from.seq;
    const detail = `rows ${from.seq + 1} to ${upTo} cut (older than ${cutoff} or beyond ${policy.maxRows} rows); the chain goes on from hash ${anchor.hash}${archive === null ? '' : `; archived to ${archive}`}`;
    this.log.append({ actor: 'system', action: 'audit.cut', outcome: 'ok', detail });
    return { cut, anchor, archive, remoteCut, refused: null };
  }

  /** Checks number, link and hash of the rows (from, upTo]; returns what is wrong, or null. */
  async #verifyRange(from: AuditAnchor, upTo: number, signal?: AbortSignal): Promise<string | null> {
    let prev = from.hash;
    let expected = from.seq + 1;
    const page = this.db.prepare('SELECT * FROM audit_log WHERE seq >= ? AND seq <= ? ORDER BY seq LIMIT ?');
    while (expected <= upTo) {
      signal?.throwIfAborted();
      const rows = page.all(expected, upTo, PAGE) as Row[];
      if (rows.length === 0) return `row ${expected} is missing`;
      for (const row of rows) {
        if (row.seq !== expected) return `row ${expected} is missing`;
        if (row.prev_hash !== prev) return `row ${row.seq} does not link to the row before`;
        if (chainHash(this.log.keyFor(row.seq), prev, row) !== row.hash) return `row ${row.seq} does not match its hash`;
        prev = row.hash;
        expected += 1;
      }
      await yieldToLoop();
    }
    return null;
  }

  async #archive(dir: string, from: AuditAnchor, to: AuditAnchor): Promise<string> {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, `audit-${this.node ?? 'local'}-${from.seq + 1}-${to.seq}.jsonl.gz`);
    const page = this.db.prepare('SELECT * FROM audit_log WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?');
    const pages = function* (): Generator<ArchivedRow[]> {
      for (let low = from.seq; low < to.seq; low += PAGE) {
        yield (page.all(low, to.seq, PAGE) as Row[]).map(({ prev_hash, ...row }) => ({ ...row, prevHash: prev_hash }));
      }
    };
    const { keyedFrom, fleetFrom } = this.log.keyRanges;
    const header = {
      format: 'pilothouse-audit-archive',
      version: 1,
      node: this.node,
      fromSeq: from.seq + 1,
      toSeq: to.seq,
      prevHash: from.hash,
      keyedFrom,
      fleetFrom,
      createdAt: new Date(this.clock.now()).toISOString(),
    } as const;
    await writeAuditArchive(path, header, pages(), this.key);
    return path;
  }

  /**
   * This node's copies of other nodes' chains are cut by the same policy: per node, the anchor
   * (`audit_remote_anchor`) moves to the last row cut, and that chain verifies from there.
   */
  async #cutRemote(policy: AuditCutPolicy, signal?: AbortSignal): Promise<number> {
    const cutoff = new Date(this.clock.now() - policy.maxAgeMs).toISOString();
    const nodes = this.db.prepare('SELECT node, max(seq) AS last, count(*) AS n FROM audit_remote GROUP BY node').all() as {
      node: string;
      last: number;
      n: number;
    }[];
    let removed = 0;
    for (const { node, last, n } of nodes) {
      signal?.throwIfAborted();
      const byAge =
        (this.db.prepare('SELECT max(seq) AS seq FROM audit_remote WHERE node = ? AND at < ?').get(node, cutoff) as { seq: number | null })
          .seq ?? 0;
      const byCount = n > policy.maxRows ? last - policy.maxRows : 0;
      const upTo = Math.min(Math.max(byAge, byCount), last - 1);
      const row = this.db.prepare('SELECT hash FROM audit_remote WHERE node = ? AND seq = ?').get(node, upTo) as
        { hash: string } | undefined;
      if (row === undefined) continue;
      this.db.transaction(() => {
        this.db
          .prepare(
            `INSERT INTO audit_remote_anchor (node, seq, hash) VALUES (?, ?, ?)
             ON CONFLICT (node) DO UPDATE SET seq = excluded.seq, hash = excluded.hash WHERE excluded.seq > audit_remote_anchor.seq`,
          )
          .run(node, upTo, row.hash);
        removed += this.db.prepare('DELETE FROM audit_remote WHERE node = ? AND seq <= ?').run(node, upTo).changes;
      })();
      await yieldToLoop();
    }
    return removed;
  }
}
