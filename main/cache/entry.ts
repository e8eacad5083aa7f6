/**
 * One cached value as the tiers hold it. L1 keeps `value` live (no decoding on a hit); L2 and L3
 * keep `bytes`, encoded once by the serializer. Times are epoch milliseconds from the cache's clock.
 */
export interface CacheEntry {
  value: unknown;
  bytes: Buffer;
  /** Fresh until this instant; served as a hit before it. */
  freshUntil: number;
  /** After `freshUntil` and before this, the value is stale but may be served within grace. */
  staleUntil: number;
  createdAt: number;
  tags: readonly string[];
}

export type TierName = 'l1' | 'l2' | 'l3';

/** The envelope's fixed part: format byte, three doubles, the tag list's length (redis-scripts.ts reads it in place). */
export const ENVELOPE_HEADER = 1 + 8 + 8 + 8 + 2;
export const ENVELOPE_FORMAT = 1;
const HEADER = ENVELOPE_HEADER;
const FORMAT = ENVELOPE_FORMAT;

/** The L2 wire form: version, three doubles, tag list (JSON), then the serialized value. */
export function encodeEnvelope(entry: CacheEntry): Buffer {
  const tags = entry.tags.length === 0 ? Buffer.alloc(0) : Buffer.from(JSON.stringify(entry.tags), 'utf8');
  const out = Buffer.allocUnsafe(HEADER + tags.length + entry.bytes.length);
  out.writeUInt8(FORMAT, 0);
  out.writeDoubleBE(entry.freshUntil, 1);
  out.writeDoubleBE(entry.staleUntil, 9);
  out.writeDoubleBE(entry.createdAt, 17);
  out.writeUInt16BE(tags.length, 25);
  tags.copy(out, HEADER);
  entry.bytes.copy(out, HEADER + tags.length);
  return out;
}

/** Reads what `encodeEnvelope` wrote; anything else (a foreign or older value) reads as absent. */
export function decodeEnvelope(raw: Buffer): Omit<CacheEntry, 'value'> | null {
  if (raw.length < HEADER || raw.readUInt8(0) !== FORMAT) return null;
  const tagsLength = raw.readUInt16BE(25);
  if (raw.length < HEADER + tagsLength) return null;
  const tags = tagsLength === 0 ? [] : (JSON.parse(raw.subarray(HEADER, HEADER + tagsLength).toString('utf8')) as string[]);
  return {
    freshUntil: raw.readDoubleBE(1),
    staleUntil: raw.readDoubleBE(9),
    createdAt: raw.readDoubleBE(17),
    tags,
    bytes: raw.subarray(HEADER + tagsLength),
  };
}
