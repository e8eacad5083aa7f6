import { randomBytes } from 'node:crypto';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { Database, Statement } from 'better-sqlite3';
import type { Redis } from 'ioredis';
import type { Clock } from '../clock';
import type { Logger } from '../logger';
import { Subscriber } from '../redis';
import type { Service, ServiceState } from '../service';
import { HybridClock, VERSION_PATTERN } from './hybrid-clock';
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

export interface ReplicatedTableDeps<S extends TSchema> {
  /** The table's name in Redis keys, the seal and the log: `[a-z0-9-]+`. */
  readonly name: string;
  /** The shape of one value: a record from Redis that does not match it is dropped. */
  readonly schema: S;
  readonly db: Database;
  readonly clock: Clock;
  readonly nodeId: string;
  readonly source: ReplicaSource<Static<S>>;
  /** The node's shared client, or null on a single machine (versions are still kept). */
  readonly redis: Redis | null;
  readonly seal: FleetSeal | null;
  readonly logger: Logger;
  /** How often the node checks that Redis still holds the fleet's copy (its epoch); default 5 s. */
  readonly checkIntervalMs?: number;
  /** Tombstones older than this are forgotten at start; default 30 days. */
  readonly tombstoneTtlMs?: number;
}

interface StoredRecord {
  version: string;
  value: string | null;
}

const EPOCH_KEY = 'ph:fleet:epoch';

// Keeps the newest version per id in the hash and publishes it, atomically; an older one changes
// nothing (returns 0), so concurrent writers leave the hash holding the winner.
const PUT_IF_NEWER = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then
  local bar = string.find(cur, '|', 1, true)
  if bar and string.sub(cur, 1, bar - 1) >= ARGV[2] then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. '|' .. ARGV[3])
redis.call('PUBLISH', KEYS[2], ARGV[3])
return 1`;

/**
 * A table every node holds in full and keeps the same: each node's SQLite is its durable copy,
 * Redis carries the fleet's latest version of each record and the changes between nodes.
 *
 * The merge rule is last writer wins per record: every edit gets a hybrid-clock version
 * (hybrid-clock.ts), a delete is a tombstone with a version of its own, and a record is applied
 * only when its version is above the one held, so every node ends with the same winner whatever
 * order the changes come in. Rows that predate replication get version zero: any real edit beats
 * them. Anti-entropy: at start, after a reconnect and whenever Redis's epoch key is missing or new
 * (Redis restarted empty, or was flushed), the node reads the fleet's hash, merges it, and writes
 * back every record it holds that is newer, so an emptied Redis is refilled by whoever comes first.
 * Everything written to Redis is sealed with the fleet secret and schema-checked when read.
 */
export class ReplicatedTable<S extends TSchema> implements Service {
  readonly name: string;
  readonly #hlc: HybridClock;
  readonly #recordSchema;
  readonly #hashKey: string;
  readonly #channel: string;
  readonly #kind: string;
  readonly #s: { get: Statement; all: Statement; put: Statement; purge: Statement };
  #subscriber: Subscriber | null = null;
  #unlisten: (() => void) | null = null;
  #timer: NodeJS.Timeout | null = null;
  #epoch: string | null = null;
  #syncing: Promise<void> | null = null;
  #state: ServiceState = 'idle';
  #lastError: string | null = null;
  readonly #onReconnect = (): void => void this.sync(true);
  /** Records from other nodes that won the merge; for status and tests. */
  applied = 0;

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
      await subscriber.subscribe(this.#channel).catch((err: Error) => {
        this.#lastError = err.message;
      });
      await this.sync(true);
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
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    const subscriber = this.#subscriber;
    this.#subscriber = null;
    if (subscriber !== null) await subscriber.client.quit().catch(() => subscriber.client.disconnect());
    this.#state = 'stopped';
  }

  status(): { state: ServiceState; detail?: string } {
    if (this.#state === 'running' && this.#lastError !== null) return { state: 'degraded', detail: `redis: ${this.#lastError}` };
    return { state: this.#state };
  }

  /**
   * Anti-entropy: when `force`, or when Redis's epoch is not the one this node last synced with
   * (Redis lost its data), merges the fleet's hash into this node and writes back what it holds newer.
   */
  sync(force: boolean): Promise<void> {
    this.#syncing ??= this.#sync(force).finally(() => {
      this.#syncing = null;
    });
    return this.#syncing;
  }

  async #sync(force: boolean): Promise<void> {
    const redis = this.deps.redis;
    if (redis === null || redis.status !== 'ready' || this.#state === 'stopping' || this.#state === 'stopped') return;
    try {
      const candidate = randomBytes(8).toString('hex');
      const previous = (await redis.set(EPOCH_KEY, candidate, 'NX', 'GET')) as string | null;
      const epoch = previous ?? candidate;
      if (!force && epoch === this.#epoch) return;
      if (this.#epoch !== null && epoch !== this.#epoch)
        this.deps.logger.warn({ table: this.deps.name }, 'redis lost the fleet copy; re-publishing this node’s records');
      const stored = await redis.hgetall(this.#hashKey);
      // Entries without a valid seal are not the fleet's: they are replaced, whatever version they claim.
      const forged = new Set<string>();
      for (const [id, text] of Object.entries(stored)) {
        const bar = text.indexOf('|');
        if (bar <= 0 || !this.#receive(text.slice(bar + 1), false)) forged.add(id);
      }
      const pipeline = redis.pipeline();
      for (const row of this.#s.all.all(this.deps.name) as (StoredRecord & { id: string })[]) {
        const held = stored[row.id];
        const sealed = this.#sealed(row.id, row.version, row.value);
        if (forged.has(row.id)) pipeline.hset(this.#hashKey, row.id, `${row.version}|${sealed}`);
        else if (held === undefined || held.slice(0, held.indexOf('|')) < row.version) {
          pipeline.eval(PUT_IF_NEWER, 2, this.#hashKey, this.#channel, row.id, row.version, sealed);
        }
      }
      await pipeline.exec();
      this.#epoch = epoch;
      this.#lastError = null;
    } catch (err) {
      this.#lastError = (err as Error).message;
    }
  }

  #importRows(source: ReplicaSource<Static<S>>): void {
    for (const [id, value] of source.rows()) {
      const held = this.#s.get.get(this.deps.name, id) as StoredRecord | undefined;
      const text = JSON.stringify(value);
      // Never versioned: older than any edit. Versioned but different: an edit that was not recorded (a crash between the two writes).
      if (held === undefined) this.#s.put.run(this.deps.name, id, HybridClock.zero(this.deps.nodeId), text);
      else if (held.value !== text) this.#s.put.run(this.deps.name, id, this.#hlc.next(), text);
    }
  }

  #local(id: string, value: Static<S> | null): void {
    const version = this.#hlc.next();
    const text = value === null ? null : JSON.stringify(value);
    this.#s.put.run(this.deps.name, id, version, text);
    void this.#share(id, version, text);
  }

  async #share(id: string, version: string, text: string | null): Promise<void> {
    const redis = this.deps.redis;
    if (redis === null || this.deps.seal === null) return;
    try {
      await redis.eval(PUT_IF_NEWER, 2, this.#hashKey, this.#channel, id, version, this.#sealed(id, version, text));
    } catch (err) {
      // Kept locally with its version: the next sync after Redis is back writes it.
      this.#lastError = (err as Error).message;
      this.#epoch = null;
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
