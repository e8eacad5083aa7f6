import type { Redis } from 'ioredis';
import { redisTrouble, type FleetSeal } from '../fleet';
import type { Logger } from '../logger';
import { Subscriber } from '../redis';
import type { Service, ServiceState } from '../service';
import { hash32 } from './hash-ring';
import type { InstanceSnapshot, Replication, ServiceRegistry } from './registry';
import { InstanceSnapshotSchema, ReplicationSchema } from './replication-schema';

const PREFIX = 'ph:discovery:';
const INSTANCES = `${PREFIX}instances`;
const CHANNEL = `${PREFIX}changes`;
const MEMBERS = `${PREFIX}members`;
const nodeKey = (id: string): string => `${PREFIX}node:${id}`;
/** Kinds in the fleet seal: a change on the channel, and an instance kept in the hash. */
const CHANGE = 'discovery.change';
const STORED = 'discovery.instance';
const ALIVE = 'discovery.node';

export interface RedisSyncOptions {
  /** How often this node renews its liveness key and re-reads who is alive. */
  readonly heartbeatMs?: number;
  /** A node whose key is older than this is dead, and its checks move. */
  readonly nodeTtlMs?: number;
  readonly nodeId?: string;
}

/**
 * Shares the registry between Pilothouse nodes through Redis (issue item 6). Every local change is
 * written to a hash of instance snapshots (so a node that starts later loads the lot) and published
 * on a channel that every other node applies. Each node renews a liveness key (`PX nodeTtlMs`);
 * an instance's checks run on the live node that wins rendezvous hashing on the instance id, so
 * each check runs on exactly one live node, and when a node's key expires its instances move to
 * the survivors at their next tick: within nodeTtlMs + heartbeatMs + one check interval.
 *
 * Writes race last-writer-wins; Redis is the meeting point, not a consensus log. Every change and
 * every stored snapshot is sealed with the fleet secret and schema-checked on receipt: a process
 * that can PUBLISH or HSET on this Redis without the secret registers nothing.
 */
export class RedisSync implements Service {
  readonly name = 'discovery-redis';
  readonly nodeId: string;
  readonly #heartbeatMs: number;
  readonly #ttlMs: number;
  #subscriber: Redis | null = null;
  #timer: NodeJS.Timeout | null = null;
  #live: string[] = [];
  #unsubscribe: (() => void) | null = null;
  #state: ServiceState = 'idle';
  #lastError: string | null = null;

  constructor(
    private readonly registry: ServiceRegistry,
    private readonly client: Redis,
    private readonly seal: FleetSeal,
    private readonly logger: Logger,
    options: RedisSyncOptions = {},
  ) {
    this.nodeId = options.nodeId ?? seal.nodeId;
    this.#heartbeatMs = options.heartbeatMs ?? 250;
    this.#ttlMs = options.nodeTtlMs ?? 1_000;
    this.#live = [this.nodeId];
  }

  /** True when this node runs the instance's checks: rendezvous hashing over the live nodes. */
  owns(instanceId: string): boolean {
    let best = '';
    let bestScore = -1;
    for (const node of this.#live) {
      const score = hash32(`${node}/${instanceId}`);
      if (score > bestScore || (score === bestScore && node < best)) {
        best = node;
        bestScore = score;
      }
    }
    return best === this.nodeId;
  }

  get liveNodes(): readonly string[] {
    return this.#live;
  }

  async start(): Promise<void> {
    this.#state = 'starting';
    const subscriber = new Subscriber(this.client, {}, (err: Error) =>
      this.logger.debug({ err: err.message }, 'discovery subscriber error'),
    );
    this.#subscriber = subscriber.client;
    subscriber.client.on('message', (_channel: string, text: string) => this.#onMessage(text));
    try {
      await subscriber.subscribeAtStart(CHANNEL);
      await this.#beat();
      // What the other nodes hold, then what only this node holds.
      const stored = await this.client.hgetall(INSTANCES);
      const valid = new Set<string>();
      for (const [id, text] of Object.entries(stored)) {
        const opened = this.seal.openJson(STORED, `${INSTANCES}/${id}`, text, InstanceSnapshotSchema, false);
        if (opened === null || opened.value.id !== id) continue;
        valid.add(id);
        try {
          this.registry.applyRemote({ kind: 'upsert', snapshot: opened.value });
        } catch (err) {
          this.logger.warn({ err }, 'skipped a stored instance');
        }
      }
      // What only this node holds (or what was stored without a valid seal) goes back in, sealed.
      const mine = this.registry.snapshots().filter((s) => !valid.has(s.id));
      if (mine.length > 0) await this.client.hset(INSTANCES, Object.fromEntries(mine.map((s) => [s.id, this.#sealSnapshot(s)])));
    } catch (err) {
      // Redis is optional: the registry keeps working on this node and catches up on the next beat.
      this.#lastError = redisTrouble(err);
      this.logger.warn({ err }, 'discovery could not sync with redis at start');
    }
    this.#unsubscribe = this.registry.onReplicate((message) => void this.#publish(message));
    this.#timer = setInterval(() => void this.#beat(), this.#heartbeatMs);
    this.#timer.unref();
    this.#state = 'running';
  }

  /** Leaves cleanly: the liveness key goes at once, so the survivors take the checks over now. */
  async stop(): Promise<void> {
    this.halt();
    try {
      await this.client.multi().del(nodeKey(this.nodeId)).srem(MEMBERS, this.nodeId).exec();
    } catch {
      // Redis gone: the key expires by itself.
    }
    this.#state = 'stopped';
  }

  /**
   * After Redis came back empty: this node's liveness and every instance it holds, written again
   * (each node does the same, so the hash is whole again; identical snapshots are harmless).
   */
  async republish(): Promise<number> {
    await this.#beat();
    const mine = this.registry.snapshots();
    if (mine.length > 0) await this.client.hset(INSTANCES, Object.fromEntries(mine.map((s) => [s.id, this.#sealSnapshot(s)])));
    return mine.length;
  }

  /** Stops without telling anyone, as a crash would (tests use it to kill a node). */
  halt(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#subscriber?.disconnect();
    this.#subscriber = null;
  }

  status(): { state: ServiceState; detail?: string } {
    if (this.#state !== 'running') return { state: this.#state };
    if (this.#lastError !== null) return { state: 'degraded', detail: `redis: ${this.#lastError}` };
    return { state: 'running', detail: `node ${this.nodeId}, ${this.#live.length} live` };
  }

  async #publish(message: Replication): Promise<void> {
    try {
      const multi = this.client.multi();
      if (message.kind === 'upsert') multi.hset(INSTANCES, message.snapshot.id, this.#sealSnapshot(message.snapshot));
      else if (message.kind === 'remove') multi.hdel(INSTANCES, message.id);
      multi.publish(CHANNEL, this.seal.seal(CHANGE, CHANNEL, JSON.stringify(message)));
      await multi.exec();
    } catch (err) {
      this.#lastError = redisTrouble(err);
      this.logger.warn({ err }, 'discovery change not shared through redis');
    }
  }

  #sealSnapshot(snapshot: InstanceSnapshot): string {
    return this.seal.seal(STORED, `${INSTANCES}/${snapshot.id}`, JSON.stringify(snapshot));
  }

  #onMessage(text: string): void {
    const opened = this.seal.openJson(CHANGE, CHANNEL, text, ReplicationSchema);
    if (opened === null || opened.node === this.nodeId) return;
    try {
      this.registry.applyRemote(opened.value);
    } catch (err) {
      this.logger.warn({ err }, 'could not apply a change from another node');
    }
  }

  /** Renews this node's key and reads which nodes are alive (their keys still exist). */
  async #beat(): Promise<void> {
    try {
      const key = nodeKey(this.nodeId);
      await this.client
        .multi()
        .set(key, this.seal.seal(ALIVE, key, 'alive'), 'PX', this.#ttlMs)
        .sadd(MEMBERS, this.nodeId)
        .exec();
      const members = await this.client.smembers(MEMBERS);
      const alive = members.length === 0 ? [] : await this.client.mget(members.map(nodeKey));
      // A liveness key planted without the fleet secret would make this node skip its share of checks.
      const isAlive = (member: string, i: number): boolean => {
        const value = alive[i];
        if (value === null || value === undefined) return false;
        const opened = this.seal.open(ALIVE, nodeKey(member), value);
        return opened !== null && opened.node === member;
      };
      const live = members.filter(isAlive).sort();
      const dead = members.filter((_, i) => alive[i] === null);
      if (dead.length > 0) await this.client.srem(MEMBERS, ...dead);
      if (!live.includes(this.nodeId)) live.push(this.nodeId);
      this.#live = live;
      this.#lastError = null;
    } catch (err) {
      // Cut off from Redis: run every check here rather than none (the others do the same or are gone).
      this.#live = [this.nodeId];
      this.#lastError = redisTrouble(err);
    }
  }
}
