import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, createWriteStream, fsyncSync, openSync, closeSync, renameSync, rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { chainHash, type ChainedFields } from './audit-chain';

/** The first line of an archive: which rows it holds and how to check them without the database. */
export interface ArchiveHeader {
  readonly format: 'pilothouse-audit-archive';
  readonly version: 1;
  /** The chain's name in a fleet (the node id), or null on a single machine. */
  readonly node: string | null;
  readonly fromSeq: number;
  readonly toSeq: number;
  /** The hash of the row before `fromSeq` (the genesis, or the anchor of the cut before). */
  readonly prevHash: string;
  /** Rows before this seq carry unkeyed hashes; rows from `fleetFrom` on, the fleet's audit key. */
  readonly keyedFrom: number;
  readonly fleetFrom: number | null;
  readonly createdAt: string;
}

export type ArchivedRow = ChainedFields & { readonly prevHash: string; readonly hash: string };

/** The last line: the row count and last hash, signed with the node's audit key over the header too. */
interface ArchiveTrailer {
  readonly end: true;
  readonly rows: number;
  readonly lastHash: string;
  readonly mac: string;
}

export interface ArchiveKeys {
  /** The node's own audit key (signs the trailer, hashes its keyed rows). */
  readonly key: Buffer;
  /** The fleet's audit key, for rows from `fleetFrom` on. */
  readonly fleetKey?: Buffer | null;
}

export interface ArchiveVerification {
  readonly intact: boolean;
  readonly rows: number;
  readonly fromSeq: number | null;
  readonly toSeq: number | null;
  /** The hash of the last row: the anchor the live chain (or the next archive) goes on from. */
  readonly lastHash: string | null;
  readonly firstBad: { seq: number | null; reason: 'format' | 'sequence' | 'link' | 'hash' | 'truncated' | 'signature' } | null;
}

const trailerMac = (key: Buffer, header: ArchiveHeader, rows: number, lastHash: string): string =>
  createHmac('sha256', key)
    .update(JSON.stringify([header, rows, lastHash]))
    .digest('hex');

function keyFor(seq: number, header: ArchiveHeader, keys: ArchiveKeys): Buffer | null {
  if (header.fleetFrom !== null && seq >= header.fleetFrom) return keys.fleetKey ?? null;
  return seq >= header.keyedFrom ? keys.key : null;
}

/**
 * Writes rows cut from the audit log to `path` as gzip JSONL (0600): the header, one row a line
 * with its links, and a trailer signed with the audit key. Written to a temporary name, synced,
 * then renamed, so a crash leaves no half archive under the final name.
 */
export async function writeAuditArchive(
  path: string,
  header: ArchiveHeader,
  pages: Iterable<readonly ArchivedRow[]>,
  key: Buffer,
): Promise<void> {
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  let rows = 0;
  let lastHash = header.prevHash;
  async function* lines(): AsyncGenerator<string> {
    yield `${JSON.stringify(header)}\n`;
    for (const page of pages) {
      let chunk = '';
      for (const row of page) {
        chunk += `${JSON.stringify(row)}\n`;
        rows += 1;
        lastHash = row.hash;
      }
      yield chunk;
    }
    const trailer: ArchiveTrailer = { end: true, rows, lastHash, mac: trailerMac(key, header, rows, lastHash) };
    yield `${JSON.stringify(trailer)}\n`;
  }
  try {
    await pipeline(Readable.from(lines()), createGzip(), createWriteStream(temp, { flags: 'wx', mode: 0o600 }));
    const fd = openSync(temp, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } finally {
    rmSync(temp, { force: true });
  }
}

/**
 * Checks an archive on its own, without the database: every row's number, link and HMAC from the
 * header's previous hash on, and the signed trailer (so rows cut from its end, or a header edited,
 * show). Its `lastHash` is the anchor the live chain goes on from.
 */
export async function verifyAuditArchive(path: string, keys: ArchiveKeys): Promise<ArchiveVerification> {
  let header: ArchiveHeader | null = null;
  let rows = 0;
  let prev = '';
  let expected = 0;
  let trailer: ArchiveTrailer | null = null;
  const result = (firstBad: ArchiveVerification['firstBad']): ArchiveVerification => ({
    intact: firstBad === null,
    rows,
    fromSeq: header?.fromSeq ?? null,
    toSeq: header?.toSeq ?? null,
    lastHash: header === null ? null : prev,
    firstBad,
  });
  const input = createInterface({ input: createReadStream(path).pipe(createGunzip()), crlfDelay: Infinity });
  try {
    for await (const line of input) {
      if (trailer !== null) return result({ seq: null, reason: 'format' });
      const parsed = JSON.parse(line) as Record<string, unknown>;
      if (header === null) {
        if (parsed.format !== 'pilothouse-audit-archive' || parsed.version !== 1) return result({ seq: null, reason: 'format' });
        header = parsed as unknown as ArchiveHeader;
        prev = header.prevHash;
        expected = header.fromSeq;
        continue;
      }
      if (parsed.end === true) {
        trailer = parsed as unknown as ArchiveTrailer;
        continue;
      }
      const row = parsed as unknown as ArchivedRow;
      if (row.seq !== expected) return result({ seq: expected, reason: 'sequence' });
      if (row.prevHash !== prev) return result({ seq: row.seq, reason: 'link' });
      if (chainHash(keyFor(row.seq, header, keys), prev, row) !== row.hash) return result({ seq: row.seq, reason: 'hash' });
      prev = row.hash;
      expected += 1;
      rows += 1;
    }
  } catch {
    return result({ seq: header === null ? null : expected, reason: 'format' });
  }
  if (header === null) return result({ seq: null, reason: 'format' });
  if (trailer === null || rows !== header.toSeq - header.fromSeq + 1) return result({ seq: expected, reason: 'truncated' });
  const given = Buffer.from(String(trailer.mac), 'hex');
  const wanted = Buffer.from(trailerMac(keys.key, header, trailer.rows, trailer.lastHash), 'hex');
  const signed = given.length === wanted.length && timingSafeEqual(given, wanted);
  if (!signed || trailer.rows !== rows || trailer.lastHash !== prev) return result({ seq: null, reason: 'signature' });
  return result(null);
}
