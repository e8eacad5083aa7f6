import { createHash } from 'node:crypto';

/** Facts read from the 100-byte SQLite header of the image (https://sqlite.org/fileformat.html). */
export interface HeaderFacts {
  readonly pageSize: number;
  readonly pageCountInHeader: number;
  readonly writeVersion: number;
  readonly readVersion: number;
  readonly schemaCookie: number;
  readonly schemaFormat: number;
  readonly textEncoding: number;
  readonly userVersion: number;
  readonly applicationId: number;
  readonly sqliteVersion: number;
}

export interface ManifestHeader {
  readonly id: string;
  readonly sourceId: string;
  readonly sourceName: string;
  /** When the image was captured (ms since the epoch). */
  readonly capturedAt: number;
  readonly trigger: 'manual' | 'schedule' | 'continuous' | 'safety' | 'missed';
  readonly pageSize: number;
  readonly pageCount: number;
  /** SHA-256 (hex) of the whole image: pageCount × pageSize bytes. */
  readonly imageHash: string;
  readonly header: HeaderFacts;
}

export interface Manifest extends ManifestHeader {
  /** The ordered page hashes, 32 bytes each. */
  readonly pages: Buffer;
}

const MAGIC = Buffer.from('PHSNAP1\n');

/**
 * One snapshot on disk: magic, a 4-byte length, the JSON header, the page hashes (32 bytes each, in
 * page order), and a SHA-256 of everything before it, so a damaged manifest is refused, not misread.
 */
export function encodeManifest(manifest: Manifest): Buffer {
  const { pages, ...header } = manifest;
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(4);
  len.writeUInt32BE(json.length);
  const body = Buffer.concat([MAGIC, len, json, pages]);
  return Buffer.concat([body, createHash('sha256').update(body).digest()]);
}

export function decodeManifest(bytes: Buffer): Manifest {
  if (bytes.length < MAGIC.length + 4 + 32 || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) throw new Error('not a snapshot manifest');
  const body = bytes.subarray(0, bytes.length - 32);
  if (
    !createHash('sha256')
      .update(body)
      .digest()
      .equals(bytes.subarray(bytes.length - 32))
  )
    throw new Error('the manifest checksum does not match');
  const jsonLen = body.readUInt32BE(MAGIC.length);
  const jsonEnd = MAGIC.length + 4 + jsonLen;
  const header = JSON.parse(body.subarray(MAGIC.length + 4, jsonEnd).toString('utf8')) as ManifestHeader;
  const pages = Buffer.from(body.subarray(jsonEnd));
  if (pages.length !== header.pageCount * 32) throw new Error('the manifest page list has the wrong length');
  return { ...header, pages };
}

export function readHeaderFacts(page1: Buffer): HeaderFacts {
  if (page1.length < 100 || page1.subarray(0, 16).toString('latin1') !== 'SQLite format 3\0') throw new Error('not a SQLite image');
  const raw = page1.readUInt16BE(16);
  return {
    pageSize: raw === 1 ? 65536 : raw,
    writeVersion: page1[18] as number,
    readVersion: page1[19] as number,
    pageCountInHeader: page1.readUInt32BE(28),
    schemaCookie: page1.readUInt32BE(40),
    schemaFormat: page1.readUInt32BE(44),
    textEncoding: page1.readUInt32BE(56),
    userVersion: page1.readUInt32BE(60),
    applicationId: page1.readUInt32BE(68),
    sqliteVersion: page1.readUInt32BE(96),
  };
}
