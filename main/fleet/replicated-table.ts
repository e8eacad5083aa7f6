import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { redisTrouble } from './redis-trouble';
import type { Database, Statement } from 'better-sqlite3';
import type { ChainableCommander, Redis } from 'ioredis';
import type { Clock } from '../clock';
import type { Logger } from '../logger';
import { Subscriber, redisIfConnected } from '../redis';
import type { Service, ServiceState } from '../service';
import { HybridClock, VERSION_PATTERN } from './hybrid-clock';
import type { RedisEpoch } from './redis-epoch';
import type { FleetSeal } from './seal';

/** What a capability lends a replicated table: its rows, a way to write one, and its own edits. */
export interface ReplicaSource<T> {
  /** The rows it holds now (read at start, to import what predates replication or was not shared). */
  rows(): Iterable<readonly [string, T]>;
  /** Writes a record that won the merge (null: deleted) without reporting it as a local edit. */
  apply(id: string, value: T | null): void;
  /** Hears every edit made on this node (null: deleted). */
  onLocalChange(listener: (id: string, value: T | null) => void): () => void;
}

/** What every replicated table of a node is built from; each table adds its name, schema and source. */
export interface FleetTableDeps {
  readonly db: Database;
  readonly clock: Clock;
  readonly nodeId: string;
  /** The node's shared client, or null on a single machine (versions are still kept). */
  readonly redis: Redis | null;
  readonly seal: FleetSeal | null;
  readonly logger: Logger;
  /** The node's one watch on Redis's epoch: when Redis comes back empty, the table writes its records back. */
  readonly epoch?: Pick<RedisEpoch, 'onEmptied'> | null;
  /** How often an edit that could not be written to Redis is tried again; default 5 s (tests shorten it). */
  readonly checkIntervalMs?: number;
  /** Tombstones older than this are forgotten at start; default 30 days. */
  readonly tombstoneTtlMs?: number;
}

export interface ReplicatedTableDeps<S extends TSchema> extends FleetTableDeps {
  /** The table's name in Redis keys, the seal and the log: `[a-z0-9-]+`. */
  readonly name: string;
  /** The shape of one value: a record from Redis that does not match it is dropped. */
  readonly schema: S;
  readonly source: ReplicaSource<Static<S>>;
}

interface StoredRecord {
  version: string;
  value: string | null;
}

// Keeps the newest version per id in the hash, logs it under the next sequence number (so a node
// reads only what changed since it last read) and publishes it, atomically; an older one changes
// nothing (returns 0), so concurrent writers leave the hash holding the winner. ARGV[4] '1': write
// whatever the hash claims (it held an entry without a valid seal).
const PUT_IF_NEWER = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur and ARGV[4] ~= '1' then
  local bar = string.find(cur, '|', 1, true)
  if bar and string.sub(cur, 1, bar - 1) >= ARGV[2] then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. '|' .. ARGV[3])
redis.call('ZADD', KEYS[3], redis.call('INCR', KEYS[4]), ARGV[1])
redis.call('PUBLISH', KEYS[2], ARGV[3])
return 1`;

/** Log entries read per round trip. */
const PAGE = 500;

/**
 * A table every node holds in full and keeps the same: each node's SQLite is its durable copy,
 * Redis carries the fleet's latest version of each record and the changes between nodes.
 *
 * The merge rule is last writer wins per record: every edit gets a hybrid-clock version
 * (hybrid-clock.ts), a delete is a tombstone with a version of its own, and a record is applied
 * only when its version is above the one held, so every node ends with the same winner whatever
 * order the changes come in. Rows that predate replication get version zero: any real edit beats
 * them. Reading is incremental: every write to the hash also logs the id under a Redis sequence
 * number (`:log`, `:seq`), and each node keeps in SQLite how far it has read, so at start, after a
 * reconnect and every few seconds it reads only what changed since (pub/sub messages it missed
 * included). Its own edits wait in `fleet_unshared` until Redis has them. Anti-entropy in full (the
 * whole hash read, every record it holds newer written back) runs on its first sync in a fleet and
 * when the node's Redis epoch watch (RedisEpoch, `pilothouse:epoch`) says Redis came back empty (or
 * the sequence went back), so an emptied Redis is refilled by whoever comes first.
 * Everything written to Redis is sealed with the fleet secret and schema-checked when read.
 */
export class ReplicatedTable<S extends TSchema> implements Service {
  readonly name: string;
  readonly #hlc: HybridClock;
  readonly #recordSchema;
  readonly #hashKey: string;
  readonly #logKey: string;
  readonly #seqKey: string;
  readonly #channel: string;
  readonly #kind: string;
  readonly #s: {
    get: Statement;
    all: Statement;
    put: Statement;
    purge: Statement;
    unshared: Statement;
    markUnshared: Statement;
    markShared: Statement;
    cursor: Statement;
    setCursor: Statement;
  };
  #subscriber: Subscriber | null = null;
  #unlisten: (() => void) | null = null;
  #timer: NodeJS.Timeout | null = null;
  #offEmptied: (() => void) | null = null;
  #syncing: Promise<void> | null = null;
  #forceNext = false;
  #state: ServiceState = 'idle';
  #lastError: string | null = null;
  readonly #onReconnect = (): void => void this.sync(false);
  /** Records from other nodes that won the merge; for status and tests. */
  applied = 0;
  /** Records read from Redis's hash by syncs (not live messages): what incremental reading saves. */
  entriesRead = 0;

  constructor(private readonly deps: ReplicatedTableDeps<S>) {
    if (!/^[a-z0-9-]+$/.test(deps.name)) throw new Error(`Invalid replicated table name ${deps.name}`);
    this.name = `fleet-${deps.name}`;
    this.#hlc = new HybridClock(deps.clock, deps.nodeId);
    this.#recordSchema = Type.Object(
      {
        id: Type.String({ minLength: 1, maxLength: 256 }),
        version: Type.String({ pattern: VERSION_PATTERN }),
        value: Type.Union([deps.schema, Type.Null()]),
      },
      { additionalProperties: false },
    );
    this.#hashKey = `ph:fleet:${deps.name}:records`;
    this.#logKey = `ph:fleet:${deps.name}:log`;
    this.#seqKey = `ph:fleet:${deps.name}:seq`;
    this.#channel = `ph:fleet:${deps.name}:changes`;
    this.#kind = `fleet.${deps.name}`;
    const db = deps.db;
    this.#s = {
      get: db.prepare('SELECT version, value FROM fleet_records WHERE tbl = ? AND id = ?'),
      all: db.prepare('SELECT id, version, value FROM fleet_records WHERE tbl = ?'),
      put: db.prepare(
        'INSERT INTO fleet_records (tbl, id, version, value) VALUES (?, ?, ?, ?) ON CONFLICT (tbl, id) DO UPDATE SET version = excluded.version, value = excluded.value',
      ),
      purge: db.prepare('DELETE FROM fleet_records WHERE tbl = ? AND value IS NULL AND version < ?'),
      unshared: db.prepare(
        'SELECT r.id, r.version, r.value FROM fleet_unshared u JOIN fleet_records r ON r.tbl = u.tbl AND r.id = u.id WHERE u.tbl = ?',
      ),
      markUnshared: db.prepare('INSERT OR IGNORE INTO fleet_unshared (tbl, id) VALUES (?, ?)'),
      markShared: db.prepare('DELETE FROM fleet_unshared WHERE tbl = ? AND id = ?'),
      cursor: db.prepare('SELECT seq FROM fleet_cursors WHERE tbl = ?'),
      setCursor: db.prepare('INSERT INTO fleet_cursors (tbl, seq) VALUES (?, ?) ON CONFLICT (tbl) DO UPDATE SET seq = excluded.seq'),
    };
  }

  /** The version held for a record (tombstones included), or undefined. */
  version(id: string): string | undefined {
    return (this.#s.get.get(this.deps.name, id) as StoredRecord | undefined)?.version;
  }

  async start(): Promise<void> {
    this.#state = 'starting';
    const { source, redis, seal } = this.deps;
    const ttl = this.deps.tombstoneTtlMs ?? 30 * 86_400_000;
    this.#s.purge.run(this.deps.name, (this.deps.clock.now() - ttl).toString(16).padStart(12, '0'));
    for (const row of this.#s.all.all(this.deps.name) as (StoredRecord & { id: string })[]) this.#hlc.observe(row.version);
    this.#importRows(source);
    this.#unlisten = source.onLocalChange((id, value) => this.#local(id, value));
    if (redis !== null && seal !== null) {
      const subscriber = new Subscriber(redis, {}, (err) => this.deps.logger.debug({ err: err.message }, 'fleet table subscriber error'));
      this.#subscriber = subscriber;
      subscriber.client.on('message', (channel: string, text: string) => {
        if (channel === this.#channel) this.#receive(text, true);
      });
      // Messages sent while the subscription was down are gone: the hash has them.
      subscriber.client.on('ready', this.#onReconnect);
      redis.on('ready', this.#onReconnect);
      await subscriber.subscribeAtStart(this.#channel).catch((err: Error) => {
        this.#lastError = redisTrouble(err);
      });
      this.#offEmptied = this.deps.epoch?.onEmptied(() => this.sync(true)) ?? null;
      // A Redis that went quiet during the start leaves the first sync to the timer.
      await redisIfConnected(redis, this.sync(false), 'fleet table sync').catch(() => undefined);
      this.#timer = setInterval(() => void this.sync(false), this.deps.checkIntervalMs ?? 5_000);
      this.#timer.unref();
    }
    this.#state = 'running';
  }

  async stop(): Promise<void> {
    this.#state = 'stopping';
    this.#unlisten?.();
    this.#unlisten = null;
    this.deps.redis?.off('ready', this.#onReconnect);
    this.#offEmptied?.();
    this.#offEmptied = null;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    const subscriber = this.#subscriber;
    this.#subscriber = null;
    if (subscriber !== null) await subscriber.client.quit().catch(() => subscriber.client.disconnect());
    this.#state = 'stopped';
  }

  status(): { state: ServiceState; detail?: string } {
    if (this.#state === 'running' && this.#lastError !== null) return { state: 'degraded', detail: `redis: ${this.#lastError}` };
    if (this.#state === 'running' && this.deps.redis !== null)
      return { state: 'running', detail: `${this.entriesRead} entries read from Redis` };
    return { state: this.#state };
  }

  /**
   * Reads what changed in the fleet's hash since this node last read it, and writes the edits Redis
   * does not have yet. With `force` (Redis came back empty), or on the first sync, or when Redis's
   * sequence went back: anti-entropy in full, the whole hash merged and every record held newer written back.
   */
  sync(force: boolean): Promise<void> {
    // A full sync asked for while another runs is run right after it, not dropped.
    if (force) this.#forceNext = true;
    this.#syncing ??= this.#drain().finally(() => {
      this.#syncing = null;
    });
    return this.#syncing;
  }

  async #drain(): Promise<void> {
    do {
      const force = this.#forceNext;
      this.#forceNext = false;
      await this.#sync(force);
    } while (this.#forceNext);
  }

  async #sync(force: boolean): Promise<void> {
    const redis = this.deps.redis;
    if (redis === null || redis.status !== 'ready' || this.#state === 'stopping' || this.#state === 'stopped') return;
    try {
      const cursor = (this.#s.cursor.get(this.deps.name) as { seq: number } | undefined)?.seq;
      const seq = Number((await redis.get(this.#seqKey)) ?? 0);
      if (force || cursor === undefined || seq < cursor) await this.#full(redis, seq);
      else await this.#pull(redis, cursor);
      await this.#pushUnshared(redis);
      this.#lastError = null;
    } catch (err) {
      // The status says only the kind (it reaches every signed-in caller); the log keeps the error.
      this.#lastError = redisTrouble(err);
      this.deps.logger.debug({ err, table: this.deps.name }, 'fleet table sync failed');
    }
  }

  /** The whole hash merged; every record held newer (or over an entry without a valid seal) written back. */
  async #full(redis: Redis, seq: number): Promise<void> {
    const stored = await redis.hgetall(this.#hashKey);
    const ids = Object.keys(stored);
    this.entriesRead += ids.length;
    // Entries without a valid seal are not the fleet's: they are replaced, whatever version they claim.
    const forged = new Set<string>();
    for (const [id, text] of Object.entries(stored)) {
      const bar = text.indexOf('|');
      if (bar <= 0 || !this.#receive(text.slice(bar + 1), false)) forged.add(id);
    }
    const pipeline = redis.pipeline();
    for (const row of this.#s.all.all(this.deps.name) as (StoredRecord & { id: string })[]) {
      const held = stored[row.id];
      if (forged.has(row.id) || held === undefined || held.slice(0, held.indexOf('|')) < row.version)
        this.#put(pipeline, row.id, row.version, row.value, forged.has(row.id));
    }
    await pipeline.exec();
    // Read before the hash: what was written meanwhile is read by the next sync.
    this.#s.setCursor.run(this.deps.name, seq);
  }

  /** The log from `cursor` on: each id changed since, read once. */
  async #pull(redis: Redis, cursor: number): Promise<void> {
    for (;;) {
      const page = await redis.zrangebyscore(this.#logKey, `(${cursor}`, '+inf', 'WITHSCORES', 'LIMIT', 0, PAGE);
      if (page.length === 0) return;
      const ids = page.filter((_, i) => i % 2 === 0);
      const texts = await redis.hmget(this.#hashKey, ...ids);
      this.entriesRead += ids.length;
      const pipeline = redis.pipeline();
      let repairs = 0;
      ids.forEach((id, i) => {
        const text = texts[i];
        if (text === null || text === undefined) return;
        const bar = text.indexOf('|');
        if (bar > 0 && this.#receive(text.slice(bar + 1), false)) return;
        const held = this.#s.get.get(this.deps.name, id) as StoredRecord | undefined;
        if (held === undefined) return;
        this.#put(pipeline, id, held.version, held.value, true);
        repairs += 1;
      });
      if (repairs > 0) await pipeline.exec();
      cursor = Number(page[page.length - 1]);
      this.#s.setCursor.run(this.deps.name, cursor);
      if (ids.length < PAGE) return;
    }
  }

  /** This node's edits Redis does not have yet (made while it was unreachable, or before the node joined). */
  async #pushUnshared(redis: Redis): Promise<void> {
    const rows = this.#s.unshared.all(this.deps.name) as (StoredRecord & { id: string })[];
    if (rows.length === 0) return;
    const pipeline = redis.pipeline();
    for (const row of rows) this.#put(pipeline, row.id, row.version, row.value, false);
    const results = (await pipeline.exec()) ?? [];
    rows.forEach((row, i) => {
      if (results[i]?.[0] === null && this.version(row.id) === row.version) this.#s.markShared.run(this.deps.name, row.id);
    });
  }

  #put(target: ChainableCommander, id: string, version: string, text: string | null, overwrite: boolean): void {
    target.eval(
      PUT_IF_NEWER,
      4,
      this.#hashKey,
      this.#channel,
      this.#logKey,
      this.#seqKey,
      id,
      version,
      this.#sealed(id, version, text),
      overwrite ? '1' : '0',
    );
  }

  #importRows(source: ReplicaSource<Static<S>>): void {
    for (const [id, value] of source.rows()) {
      const held = this.#s.get.get(this.deps.name, id) as StoredRecord | undefined;
      const text = JSON.stringify(value);
      // Never versioned: older than any edit. Versioned but different: an edit that was not recorded (a crash between the two writes).
      if (held === undefined) this.#s.put.run(this.deps.name, id, HybridClock.zero(this.deps.nodeId), text);
      else if (held.value !== text) this.#s.put.run(this.deps.name, id, this.#hlc.next(), text);
      else continue;
      this.#s.markUnshared.run(this.deps.name, id);
    }
  }

  #local(id: string, value: Static<S> | null): void {
    const version = this.#hlc.next();
    const text = value === null ? null : JSON.stringify(value);
    this.deps.db.transaction(() => {
      this.#s.put.run(this.deps.name, id, version, text);
      this.#s.markUnshared.run(this.deps.name, id);
    })();
    void this.#share(id, version, text);
  }

  async #share(id: string, version: string, text: string | null): Promise<void> {
    const redis = this.deps.redis;
    if (redis === null || this.deps.seal === null) return;
    try {
      const pipeline = redis.pipeline();
      this.#put(pipeline, id, version, text, false);
      const [result] = (await pipeline.exec()) ?? [];
      if (result?.[0] != null) throw result[0];
      // Shared, unless a newer edit of the record came meanwhile (that one is still to share).
      if (this.version(id) === version) this.#s.markShared.run(this.deps.name, id);
    } catch (err) {
      // Kept locally, marked unshared: the next sync after Redis is back writes it.
      this.#lastError = redisTrouble(err);
    }
  }

  #sealed(id: string, version: string, text: string | null): string {
    return (this.deps.seal as FleetSeal).seal(
      this.#kind,
      this.#channel,
      `{"id":${JSON.stringify(id)},"version":"${version}","value":${text ?? 'null'}}`,
    );
  }

  /** Merges a sealed record (live from the channel, or stored in the hash): applied when newer. False when not the fleet's. */
  #receive(raw: string, fresh: boolean): boolean {
    const opened = this.deps.seal?.openJson(this.#kind, this.#channel, raw, this.#recordSchema, fresh);
    if (opened === undefined || opened === null) return false;
    const { id, version, value } = opened.value as { id: string; version: string; value: Static<S> | null };
    this.#hlc.observe(version);
    const held = this.#s.get.get(this.deps.name, id) as StoredRecord | undefined;
    if (held !== undefined && held.version >= version) return true;
    this.deps.db.transaction(() => {
      this.#s.put.run(this.deps.name, id, version, value === null ? null : JSON.stringify(value));
      this.deps.source.apply(id, value);
    })();
    this.applied += 1;
    return true;
  }
}
