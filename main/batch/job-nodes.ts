import type { Redis } from 'ioredis';
import type { FleetSeal } from '../fleet';
import { redisIfConnected } from '../redis';
import { parseQueueName } from './bullmq-names';

/** The fleet seal's kind for a job node's liveness key: a planted key does not make a dead node look alive. */
const LIVENESS = 'jobs.node';

/**
 * Which nodes' job workers are alive, and which per-node queues exist. Each node renews a key
 * (`<prefix>:jobs:node:<id>`, PX ttl) while its queue runs; a placed job whose node has no key is
 * shown as waiting for that node. The key's value is sealed with the fleet secret, so a key planted
 * without it does not make a dead node look alive. The set of queue names lets any node list every
 * node's queue.
 */
export class NodeRoster {
  readonly #ttlMs: number;
  /** This node's queue names until Redis took them (a start with Redis away announces them later). */
  #unannounced: readonly string[] = [];
  #timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly redis: Redis,
    readonly node: string,
    private readonly prefix: string,
    ttlMs: number,
    private readonly seal: FleetSeal,
  ) {
    this.#ttlMs = ttlMs;
  }

  async start(queues: readonly string[]): Promise<void> {
    this.#unannounced = [...queues];
    // Redis down or hung: the node starts without it, and the next beat that reaches Redis announces it.
    await redisIfConnected(this.redis, this.#beat(), 'jobs node roster').catch(() => undefined);
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
    const key = this.#nodeKey(node);
    let text: string | null;
    try {
      text = await this.redis.get(key);
    } catch {
      return true; // Redis cannot say: do not call a node offline on no evidence
    }
    return text !== null && this.seal.open(LIVENESS, key, text)?.node === node;
  }

  async addQueue(name: string): Promise<void> {
    await this.redis.sadd(this.#queuesKey, name);
  }

  /** Whether `node` has run this fleet's jobs: it announced a queue of its own. */
  async knowsNode(node: string): Promise<boolean> {
    return (await this.queues()).some((name) => parseQueueName(name)?.node === node);
  }

  async hasQueue(name: string): Promise<boolean> {
    return (await this.redis.sismember(this.#queuesKey, name)) === 1;
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
    const key = this.#nodeKey(this.node);
    await this.redis.set(key, this.seal.seal(LIVENESS, key, ''), 'PX', this.#ttlMs).catch(() => undefined);
    const queues = this.#unannounced;
    if (queues.length === 0) return;
    await this.redis.sadd(this.#queuesKey, ...queues).then(
      () => {
        if (this.#unannounced === queues) this.#unannounced = [];
      },
      () => undefined,
    );
  }
}
