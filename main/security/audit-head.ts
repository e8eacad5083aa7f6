import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { closeSync, constants, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';

/** Where the chain ended when last written out, and from which row on hashes are keyed. */
export interface AuditHead {
  /** Rows before this seq were written before the audit key existed and carry unkeyed hashes. */
  readonly keyedFrom: number;
  readonly seq: number;
  readonly hash: string;
  readonly at: string;
}

const mac = (key: Buffer, head: AuditHead): Buffer =>
  createHmac('sha256', key)
    .update(JSON.stringify([head.keyedFrom, head.seq, head.hash, head.at]))
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
    let text: string;
    try {
      const fd = openSync(this.path, constants.O_RDONLY | constants.O_NOFOLLOW);
      try {
        text = readFileSync(fd, 'utf8');
      } finally {
        closeSync(fd);
      }
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'invalid';
    }
    try {
      const parsed = JSON.parse(text) as AuditHead & { mac: string };
      const head: AuditHead = { keyedFrom: parsed.keyedFrom, seq: parsed.seq, hash: parsed.hash, at: parsed.at };
      if (![head.keyedFrom, head.seq].every(Number.isSafeInteger) || typeof head.hash !== 'string' || typeof head.at !== 'string') {
        return 'invalid';
      }
      const given = Buffer.from(String(parsed.mac), 'hex');
      const expected = mac(this.key, head);
      return given.length === expected.length && timingSafeEqual(given, expected) ? head : 'invalid';
    } catch {
      return 'invalid';
    }
  }

  write(head: AuditHead): void {
    const temp = `${this.path}.${randomBytes(6).toString('hex')}.tmp`;
    const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      writeSync(fd, `${JSON.stringify({ ...head, mac: mac(this.key, head).toString('hex') })}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      renameSync(temp, this.path);
    } finally {
      rmSync(temp, { force: true });
    }
  }
}
