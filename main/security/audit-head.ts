import { createHmac, timingSafeEqual } from 'node:crypto';
import { readPrivateFile, writePrivateFile } from '../core';

/** Where the chain ended when last written out, and from which row on hashes are keyed. */
export interface AuditHead {
  /** Rows before this seq were written before the audit key existed and carry unkeyed hashes. */
  readonly keyedFrom: number;
  /** From this seq on, rows are hashed with the fleet's audit key (absent: the node never joined a fleet). */
  readonly fleetFrom?: number;
  readonly seq: number;
  readonly hash: string;
  readonly at: string;
  /** The last row retention cut (absent: none was): the chain verifies from the row after it. */
  readonly anchor?: AuditAnchor;
}

/** The seq and hash of the last row cut from the start of the chain; seq 0 is the genesis. */
export interface AuditAnchor {
  readonly seq: number;
  readonly hash: string;
}

const mac = (key: Buffer, head: AuditHead): Buffer =>
  createHmac('sha256', key)
    .update(
      JSON.stringify([
        head.keyedFrom,
        head.seq,
        head.hash,
        head.at,
        ...(head.fleetFrom === undefined ? [] : [head.fleetFrom]),
        ...(head.anchor === undefined ? [] : ['anchor', head.anchor.seq, head.anchor.hash]),
      ]),
    )
    .digest();

/**
 * The chain head, kept outside the database (`<dataDir>/audit.head`, 0600) and signed with the audit
 * key: rows deleted from the end of the log leave the database consistent with itself, but not with
 * the head written before they went.
 */
export class AuditHeadFile {
  constructor(
    readonly path: string,
    private readonly key: Buffer,
  ) {}

  read(): AuditHead | 'missing' | 'invalid' {
    let text: string | null;
    try {
      text = readPrivateFile(this.path);
    } catch {
      return 'invalid';
    }
    if (text === null) return 'missing';
    try {
      const parsed = JSON.parse(text) as AuditHead & { mac: string };
      const anchor = parsed.anchor === undefined ? undefined : { seq: parsed.anchor.seq, hash: parsed.anchor.hash };
      const head: AuditHead = {
        keyedFrom: parsed.keyedFrom,
        seq: parsed.seq,
        hash: parsed.hash,
        at: parsed.at,
        ...(parsed.fleetFrom === undefined ? {} : { fleetFrom: parsed.fleetFrom }),
        ...(anchor === undefined ? {} : { anchor }),
      };
      const numbers = [
        head.keyedFrom,
        head.seq,
        ...(head.fleetFrom === undefined ? [] : [head.fleetFrom]),
        ...(anchor ? [anchor.seq] : []),
      ];
      const strings = [head.hash, head.at, ...(anchor ? [anchor.hash] : [])];
      if (!numbers.every(Number.isSafeInteger) || !strings.every((v) => typeof v === 'string')) return 'invalid';
      const given = Buffer.from(String(parsed.mac), 'hex');
      const expected = mac(this.key, head);
      return given.length === expected.length && timingSafeEqual(given, expected) ? head : 'invalid';
    } catch {
      return 'invalid';
    }
  }

  write(head: AuditHead): void {
    writePrivateFile(this.path, `${JSON.stringify({ ...head, mac: mac(this.key, head).toString('hex') })}\n`, 'replace');
  }
}
