import type { Redis } from 'ioredis';

/**
 * Which nodes' job workers are alive, and which per-node queues exist. Each node renews a key
 * (`<prefix>:jobs:node:<id>`, PX ttl) while its queue runs; a placed job whose node has no key is
 * shown as waiting for that node. The set of queue names lets any node list every node's queue.
 */
export class NodeRoster {
  readonly #ttlMs: number;
  #timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly redis: Redis,
    readonly node: string,
    private readonly prefix: string,
    ttlMs: number,
  ) {
    this.#ttlMs = ttlMs;
  }

  async start(queues: readonly string[]): Promise<void> {
    await this.#beat();
    if (queues.length > 0) await this.redis.sadd(this.#queuesKey, ...queues);
    this.#timer = setInterval(() => void this.#beat(), Math.max(50, Math.floor(this.#ttlMs / 4)));
    this.#timer.unref();
  }

  /** Leaves cleanly: jobs placed here show as waiting for this node at once. */
  async stop(): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    await this.redis.del(this.#nodeKey(this.node)).catch(() => undefined);
  }

  /** Stops renewing without telling anyone, as a crash would. */
  halt(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  async alive(node: string): Promise<boolean> {
    if (node === this.node && this.#timer !== null) return true;
    return (await this.redis.exists(this.#nodeKey(node)).catch(() => 1)) === 1;
  }

  async addQueue(name: string): Promise<void> {
    await this.redis.sadd(this.#queuesKey, name);
  }

  async queues(): Promise<string[]> {
    return (await this.redis.smembers(this.#queuesKey)).sort();
  }

  /** After Redis lost its data: this node's liveness key and its queue names. */
  async republish(queues: readonly string[]): Promise<void> {
    await this.#beat();
    if (queues.length > 0) await this.redis.sadd(this.#queuesKey, ...queues);
  }

  get #queuesKey(): string {
    return `${this.prefix}:jobs:queues`;
  }

  #nodeKey(node: string): string {
    return `${this.prefix}:jobs:node:${node}`;
  }

  async #beat(): Promise<void> {
    await this.redis.set(this.#nodeKey(this.node), '1', 'PX', this.#ttlMs).catch(() => undefined);
  }
}
