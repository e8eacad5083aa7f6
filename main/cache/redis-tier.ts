import { randomBytes } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import type { Redis } from 'ioredis';
import type { FleetSeal } from '../fleet';
import { decodeEnvelope, encodeEnvelope, type CacheEntry } from './entry';
import type { RedisLink } from './redis-link';
import {
  DEL_SCRIPT,
  EPOCH_SCRIPT,
  GET_SCRIPT,
  MARKER_SCRIPT,
  PROMOTE_SCRIPT,
  RELEASE_SCRIPT,
  SET_SCRIPT,
  TAG_SCRIPT,
} from './redis-scripts';
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

const SCAN_BATCH = 500;
const SCAN_LIMIT = 200_000;

type Script = (...args: (string | number | Buffer)[]) => Promise<unknown>;
type ScriptName = 'phCacheSet' | 'phCachePromote' | 'phCacheDel' | 'phCacheTag' | 'phCacheEpoch' | 'phCacheMarker' | 'phCacheRelease';
/** The scripts as ioredis commands: sent by SHA (EVALSHA, falling back to EVAL once), not as text each call. */
type WithScripts = Redis & {
  phCacheGetBuffer: (numberOfKeys: number, key: string) => Promise<[Buffer | null, number]>;
  phCacheSet: Script;
  phCachePromote: Script;
  phCacheDel: Script;
  phCacheTag: Script;
  phCacheEpoch: Script;
  phCacheMarker: Script;
  phCacheRelease: Script;
};

/** Redis ran a write after its deadline and applied none of it. */
export class LateWrite extends Error {
  constructor() {
    super('Redis took the write after its deadline and did not apply it');
  }
}

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
    const { cmd, writer } = link;
    writer.defineCommand('phCacheSet', { lua: SET_SCRIPT });
    writer.defineCommand('phCacheDel', { lua: DEL_SCRIPT });
    writer.defineCommand('phCacheTag', { lua: TAG_SCRIPT });
    cmd.defineCommand('phCacheGet', { lua: GET_SCRIPT });
    cmd.defineCommand('phCachePromote', { lua: PROMOTE_SCRIPT });
    cmd.defineCommand('phCacheEpoch', { lua: EPOCH_SCRIPT });
    cmd.defineCommand('phCacheMarker', { lua: MARKER_SCRIPT });
    cmd.defineCommand('phCacheRelease', { lua: RELEASE_SCRIPT });
  }

  #run<T>(name: ScriptName, numberOfKeys: number, ...args: (string | number | Buffer)[]): Promise<T> {
    return this.link.run((r) => (r as WithScripts)[name](numberOfKeys, ...args) as Promise<T>);
  }

  /** Changes to L2 go on the writer connection, in the order they were made, with its longer deadline (RedisLink). */
  #write<T>(name: ScriptName, numberOfKeys: number, ...args: (string | number | Buffer)[]): Promise<T> {
    return this.link.write((r) => (r as WithScripts)[name](numberOfKeys, ...args) as Promise<T>);
  }

  entryKey(ns: string, key: string): string {
    return `${this.prefix}e:${ns}:${key}`;
  }

  #tagPrefix(ns: string): string {
    return `${this.prefix}t:${ns}:`;
  }

  /**
   * An entry as this node should hold it: its times moved onto this node's clock (`now`) by what
   * Redis says is left of its time to live, since the writer's absolute times are on the writer's
   * clock, and nodes' clocks may disagree by seconds (a node 20 s ahead dropped a 25 s entry at 5 s).
   */
  async get(ns: string, key: string, now: number): Promise<StoredEntry | null> {
    const redisKey = this.entryKey(ns, key);
    const [raw, pttl] = await this.link.run((r) => (r as WithScripts).phCacheGetBuffer(1, redisKey));
    if (raw === null) return null;
    const bytes = this.seal.openBytes(ENTRY, redisKey, raw);
    const e = bytes === null ? null : decodeEnvelope(bytes);
    if (e === null || pttl < 0) return e;
    const shift = now + pttl - e.staleUntil;
    return { ...e, freshUntil: e.freshUntil + shift, staleUntil: e.staleUntil + shift, createdAt: e.createdAt + shift };
  }

  #sealEntry(redisKey: string, entry: CacheEntry): Buffer {
    return this.seal.sealBytes(ENTRY, redisKey, encodeEnvelope(entry));
  }

  /**
   * Writes an entry, its tags, bumps the generation and tells the other nodes to drop their copy.
   * Throws `LateWrite` when Redis ran the script after the writer connection's deadline: then
   * nothing was written (a frozen Redis that thaws does not apply a write its caller gave up on).
   */
  async set(ns: string, key: string, entry: CacheEntry, now: number): Promise<number> {
    const px = Math.max(1, Math.ceil(entry.staleUntil - now));
    const message = this.#message({ ns, op: 'set', keys: [key] });
    const redisKey = this.entryKey(ns, key);
    const deadline = await this.link.writeDeadline();
    const generation = await this.#write<number>(
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
      deadline,
      ...entry.tags,
    );
    if (generation < 0) throw new LateWrite();
    return generation;
  }

  /** Promotion from L3: writes the entry (and its tags) only when L2 has none, without a bus message (the value is not new). */
  async promote(ns: string, key: string, entry: CacheEntry, now: number): Promise<void> {
    const px = Math.ceil(entry.staleUntil - now);
    if (px <= 0) return;
    const redisKey = this.entryKey(ns, key);
    await this.#run('phCachePromote', 1, redisKey, this.#sealEntry(redisKey, entry), px, this.#tagPrefix(ns), ...entry.tags);
  }

  async delete(ns: string, keys: readonly string[]): Promise<{ generation: number; removed: number }> {
    const message = this.#message({ ns, op: 'del', keys });
    const [generation, removed] = (await this.#write(
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

  /**
   * Drops the entries that carry one of the tags now, and tells every node to drop them: by tag,
   * and then by the keys Redis dropped (500 a message), so a node whose copy of such a key carries
   * other tags (an older value) drops it too. `keys`: what Redis dropped.
   */
  async deleteTags(ns: string, tags: readonly string[]): Promise<{ generation: number; removed: number; keys: string[] }> {
    const message = this.#message({ ns, op: 'tag', tags });
    const [generation, removed, keys] = (await this.#write(
      'phCacheTag',
      1,
      this.gensKey,
      ns,
      this.channel,
      message,
      this.#tagPrefix(ns),
      this.entryKey(ns, ''),
      ...tags,
    )) as [number, number, string[]];
    let last = generation;
    for (let i = 0; i < keys.length; i += 500) last = (await this.delete(ns, keys.slice(i, i + 500))).generation;
    return { generation: last, removed, keys };
  }

  /**
   * Clears one namespace in L2 and tells every node to clear only that namespace. Keys are unlinked
   * before the message goes out and once more after it, so a node that promoted an old L3 value
   * into L2 in between does not bring it back.
   */
  async clear(ns: string): Promise<{ generation: number; removed: number }> {
    let removed = await this.#unlinkNamespace(ns);
    const message = this.#message({ ns, op: 'clear' });
    const [generation] = (await this.#write('phCacheDel', 1, this.gensKey, ns, this.channel, message)) as [number, number];
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
