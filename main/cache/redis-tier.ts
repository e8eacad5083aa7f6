import { randomBytes } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import type { Redis } from 'ioredis';
import type { FleetSeal } from '../fleet';
import { decodeEnvelope, encodeEnvelope, type CacheEntry } from './entry';
import type { RedisLink } from './redis-link';
import type { StoredEntry } from './sqlite-tier';

/** What travels on the bus: who sent it, the namespace, and what to drop. */
export interface BusMessage {
  readonly origin: string;
  readonly ns: string;
  readonly op: 'set' | 'del' | 'tag' | 'clear';
  readonly keys?: readonly string[];
  readonly tags?: readonly string[];
}

const BusMessageSchema = Type.Object(
  {
    origin: Type.String({ minLength: 1, maxLength: 64 }),
    ns: Type.String({ minLength: 1, maxLength: 256 }),
    op: Type.Union([Type.Literal('set'), Type.Literal('del'), Type.Literal('tag'), Type.Literal('clear')]),
    keys: Type.Optional(Type.Array(Type.String())),
    tags: Type.Optional(Type.Array(Type.String())),
  },
  { additionalProperties: false },
);

/** Kinds in the fleet seal. */
const BUS = 'cache.bus';
const MARKER = 'cache.marker';
const ENTRY = 'cache.entry';

// Each script changes L2, bumps the namespace's generation and publishes `<generation>|<message>`
// atomically, so generations on the bus arrive in the order they were issued: a node that sees a
// gap knows it missed a message. (Single Redis or Sentinel; the tag and generation keys are not
// declared as KEYS, so Redis Cluster is not supported by these scripts.)
const SET_SCRIPT = `
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
local px = tonumber(ARGV[2])
for i = 7, #ARGV do
  local t = ARGV[6] .. ARGV[i]
  redis.call('SADD', t, KEYS[1])
  if redis.call('PTTL', t) < px then redis.call('PEXPIRE', t, px) end
end
local gen = redis.call('HINCRBY', KEYS[2], ARGV[3], 1)
redis.call('PUBLISH', ARGV[4], gen .. '|' .. ARGV[5])
return gen`;

const DEL_SCRIPT = `
local n = 0
for i = 2, #KEYS do n = n + redis.call('DEL', KEYS[i]) end
local gen = redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
redis.call('PUBLISH', ARGV[2], gen .. '|' .. ARGV[3])
return {gen, n}`;

const TAG_SCRIPT = `
local n = 0
for i = 5, #ARGV do
  local t = ARGV[4] .. ARGV[i]
  local members = redis.call('SMEMBERS', t)
  for _, k in ipairs(members) do n = n + redis.call('DEL', k) end
  redis.call('DEL', t)
end
local gen = redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
redis.call('PUBLISH', ARGV[2], gen .. '|' .. ARGV[3])
return {gen, n}`;

const EPOCH_SCRIPT = `
redis.call('SET', KEYS[1], ARGV[1], 'NX')
return redis.call('GET', KEYS[1])`;

// A snapshot of every generation, published on the bus itself: a node that receives it has
// received every message published before it, so any difference from what it saw is a real loss.
// ARGV[2] is the requesting node's sealed token: a marker without a valid one is dropped. (The
// snapshot itself is Redis's own hash; a wrong one can only make a node drop local copies.)
const MARKER_SCRIPT = `
local g = redis.call('HGETALL', KEYS[1])
redis.call('PUBLISH', ARGV[1], 'S' .. ARGV[2] .. '\\n' .. cjson.encode(g))
return #g`;

const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

const SCAN_BATCH = 500;
const SCAN_LIMIT = 200_000;

type Script = (...args: (string | number | Buffer)[]) => Promise<unknown>;
/** The scripts as ioredis commands: sent by SHA (EVALSHA, falling back to EVAL once), not as text each call. */
type WithScripts = Redis & {
  phCacheSet: Script;
  phCacheDel: Script;
  phCacheTag: Script;
  phCacheEpoch: Script;
  phCacheMarker: Script;
  phCacheRelease: Script;
};

/**
 * L2: entries in Redis as envelopes, tag sets, single-flight leases, and the bus's publishing side.
 * Entries and bus messages are sealed with the fleet secret (an entry's MAC covers its key, so a
 * value cannot be moved to another key); a value or message without a valid seal reads as absent.
 */
export class RedisTier {
  readonly channel: string;
  readonly gensKey: string;

  constructor(
    readonly link: RedisLink,
    private readonly prefix: string,
    private readonly nodeId: string,
    private readonly seal: FleetSeal,
  ) {
    this.channel = `${prefix}bus`;
    this.gensKey = `${prefix}gens`;
    const cmd = link.cmd;
    cmd.defineCommand('phCacheSet', { lua: SET_SCRIPT });
    cmd.defineCommand('phCacheDel', { lua: DEL_SCRIPT });
    cmd.defineCommand('phCacheTag', { lua: TAG_SCRIPT });
    cmd.defineCommand('phCacheEpoch', { lua: EPOCH_SCRIPT });
    cmd.defineCommand('phCacheMarker', { lua: MARKER_SCRIPT });
    cmd.defineCommand('phCacheRelease', { lua: RELEASE_SCRIPT });
  }

  #run<T>(name: Exclude<keyof WithScripts, keyof Redis>, numberOfKeys: number, ...args: (string | number | Buffer)[]): Promise<T> {
    return this.link.run((r) => (r as WithScripts)[name](numberOfKeys, ...args) as Promise<T>);
  }

  entryKey(ns: string, key: string): string {
    return `${this.prefix}e:${ns}:${key}`;
  }

  #tagPrefix(ns: string): string {
    return `${this.prefix}t:${ns}:`;
  }

  async get(ns: string, key: string): Promise<StoredEntry | null> {
    const redisKey = this.entryKey(ns, key);
    const raw = await this.link.run((r) => r.getBuffer(redisKey));
    if (raw === null) return null;
    const bytes = this.seal.openBytes(ENTRY, redisKey, raw);
    return bytes === null ? null : decodeEnvelope(bytes);
  }

  #sealEntry(redisKey: string, entry: CacheEntry): Buffer {
    return this.seal.sealBytes(ENTRY, redisKey, encodeEnvelope(entry));
  }

  /** Writes an entry, its tags, bumps the generation and tells the other nodes to drop their copy. */
  async set(ns: string, key: string, entry: CacheEntry, now: number): Promise<number> {
    const px = Math.max(1, Math.ceil(entry.staleUntil - now));
    const message = this.#message({ ns, op: 'set', keys: [key] });
    const redisKey = this.entryKey(ns, key);
    return this.#run<number>(
      'phCacheSet',
      2,
      redisKey,
      this.gensKey,
      this.#sealEntry(redisKey, entry),
      px,
      ns,
      this.channel,
      message,
      this.#tagPrefix(ns),
      ...entry.tags,
    );
  }

  /** Promotion from L3: writes the entry only when L2 has none, without a bus message (the value is not new). */
  async promote(ns: string, key: string, entry: CacheEntry, now: number): Promise<void> {
    const px = Math.ceil(entry.staleUntil - now);
    if (px <= 0) return;
    const redisKey = this.entryKey(ns, key);
    await this.link.run((r) => r.set(redisKey, this.#sealEntry(redisKey, entry), 'PX', px, 'NX'));
  }

  async delete(ns: string, keys: readonly string[]): Promise<{ generation: number; removed: number }> {
    const message = this.#message({ ns, op: 'del', keys });
    const [generation, removed] = (await this.#run(
      'phCacheDel',
      1 + keys.length,
      this.gensKey,
      ...keys.map((k) => this.entryKey(ns, k)),
      ns,
      this.channel,
      message,
    )) as [number, number];
    return { generation, removed };
  }

  async deleteTags(ns: string, tags: readonly string[]): Promise<{ generation: number; removed: number }> {
    const message = this.#message({ ns, op: 'tag', tags });
    const [generation, removed] = (await this.#run(
      'phCacheTag',
      1,
      this.gensKey,
      ns,
      this.channel,
      message,
      this.#tagPrefix(ns),
      ...tags,
    )) as [number, number];
    return { generation, removed };
  }

  /**
   * Clears one namespace in L2 and tells every node to clear only that namespace. Keys are unlinked
   * before the message goes out and once more after it, so a node that promoted an old L3 value
   * into L2 in between does not bring it back.
   */
  async clear(ns: string): Promise<{ generation: number; removed: number }> {
    let removed = await this.#unlinkNamespace(ns);
    const message = this.#message({ ns, op: 'clear' });
    const [generation] = (await this.#run('phCacheDel', 1, this.gensKey, ns, this.channel, message)) as [number, number];
    removed += await this.#unlinkNamespace(ns);
    return { generation, removed };
  }

  /**
   * Redis's data epoch: a random number set once; a Redis that lost its data (restarted without
   * persistence, flushed) has a new one, so generations from before cannot be compared.
   */
  async epoch(): Promise<number> {
    const candidate = Math.floor(Math.random() * 2 ** 48) + 1;
    return Number(await this.#run('phCacheEpoch', 1, `${this.prefix}epoch`, candidate));
  }

  /** Publishes a generation snapshot on the bus (see MARKER_SCRIPT). */
  async publishMarker(): Promise<void> {
    await this.#run('phCacheMarker', 1, this.gensKey, this.channel, this.seal.seal(MARKER, this.channel, 'marker'));
  }

  async generations(): Promise<Map<string, number>> {
    const all = await this.link.run((r) => r.hgetall(this.gensKey));
    return new Map(Object.entries(all).map(([ns, g]) => [ns, Number(g)]));
  }

  /** Tries to take the single-flight lease for a key; the token releases it. */
  async acquireLease(ns: string, key: string, leaseMs: number): Promise<string | null> {
    const token = randomBytes(9).toString('base64url');
    const ok = await this.link.run((r) => r.set(`${this.prefix}l:${ns}:${key}`, token, 'PX', leaseMs, 'NX'));
    return ok === 'OK' ? token : null;
  }

  async releaseLease(ns: string, key: string, token: string): Promise<void> {
    await this.#run('phCacheRelease', 1, `${this.prefix}l:${ns}:${key}`, token);
  }

  /** Keys of a namespace in L2 (bounded), for the console's key list. */
  async keys(ns: string, prefix: string, limit: number): Promise<string[]> {
    const found: string[] = [];
    const base = this.entryKey(ns, '');
    await this.#scan(`${base}${escapeGlob(prefix)}*`, (batch) => {
      for (const k of batch) if (found.length < limit) found.push(k.slice(base.length));
      return found.length < limit;
    });
    return found;
  }

  async #unlinkNamespace(ns: string): Promise<number> {
    let removed = 0;
    for (const pattern of [`${this.entryKey(ns, '')}*`, `${this.#tagPrefix(ns)}*`]) {
      await this.#scan(pattern, async (batch, r) => {
        if (batch.length > 0) removed += await r.unlink(...batch);
        return true;
      });
    }
    return removed;
  }

  async #scan(pattern: string, onBatch: (keys: string[], r: Redis) => boolean | Promise<boolean>): Promise<void> {
    let cursor = '0';
    let seen = 0;
    do {
      const [next, batch] = await this.link.run((r) => r.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_BATCH));
      cursor = next;
      seen += batch.length;
      const more = await this.link.run(async (r) => onBatch(batch, r));
      if (!more) return;
    } while (cursor !== '0' && seen < SCAN_LIMIT);
  }

  #message(body: Omit<BusMessage, 'origin'>): string {
    return this.seal.seal(BUS, this.channel, JSON.stringify({ origin: this.nodeId, ...body }));
  }

  /** A bus marker's snapshot of generations, or null when `raw` is not a marker (or not sealed by the fleet). */
  parseMarker(raw: string): Map<string, number> | null {
    if (!raw.startsWith('S')) return null;
    const nl = raw.indexOf('\n');
    if (nl < 0 || this.seal.open(MARKER, this.channel, raw.slice(1, nl))?.body !== 'marker') return null;
    try {
      const flat = JSON.parse(raw.slice(nl + 1)) as unknown;
      const out = new Map<string, number>();
      // cjson encodes an empty table as {}, a filled one as [ns, gen, ns, gen, ...].
      if (Array.isArray(flat)) for (let i = 0; i + 1 < flat.length; i += 2) out.set(String(flat[i]), Number(flat[i + 1]));
      return out;
    } catch {
      return this.seal.reject(MARKER, 'malformed');
    }
  }

  /** `<generation>|<sealed message>` from the bus, or null when it is not one the fleet sent. */
  parseBusMessage(raw: string): { generation: number; message: BusMessage } | null {
    const bar = raw.indexOf('|');
    const generation = Number(raw.slice(0, bar));
    if (bar < 1 || !Number.isInteger(generation)) return this.seal.reject(BUS, 'malformed');
    const opened = this.seal.openJson(BUS, this.channel, raw.slice(bar + 1), BusMessageSchema);
    if (opened === null) return null;
    if (opened.value.origin !== opened.node) return this.seal.reject(BUS, 'schema');
    return { generation, message: opened.value };
  }
}

function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}
