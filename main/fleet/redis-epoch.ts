import { readFileSync, writeFileSync } from 'node:fs';
import { redisTrouble } from './redis-trouble';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { PhError } from '../../contract/errors';
import type { Clock } from '../clock';
import type { Logger } from '../logger';
import type { Service, ServiceState } from '../service';
import { newId } from './ids';
import { redisIfConnected, withRedisDeadline } from '../redis';
import { checkRedisDurability, type RedisDurability } from './redis-durability';
import { DATA_DIR } from '../core';

/** The key every node checks: set once per Redis dataset; gone when Redis lost its data. */
export const EPOCH_KEY = 'pilothouse:epoch';
const FILE = DATA_DIR.redisEpoch;

export interface RedisEmptied {
  readonly previousEpoch: string;
  readonly epoch: string;
  readonly previousRunId: string | null;
  readonly runId: string | null;
  readonly at: number;
}

export interface RedisEpochOptions {
  /** How often the epoch and run id are read (and after every reconnect). Default 2 s. */
  readonly checkMs?: number;
  /** Refuse to start when Redis does not persist writes (or will not say). */
  readonly requireDurable?: boolean;
}

/**
 * Notices a Redis that came back empty, and says whether Redis persists at all.
 *
 * The fleet's Redis holds one random epoch (`pilothouse:epoch`), made by the first node that finds
 * none; each node keeps the epoch it last saw in `<dataDir>/redis.epoch`. When the epoch in Redis is
 * missing or differs from that (a restart without persistence, a FLUSHALL, a failover to an empty
 * replica: the run id is logged alongside), Redis lost its data: this node logs it, shows it in its
 * status, and calls its listeners, which re-publish what this node owns and re-enqueue its jobs.
 */
export class RedisEpoch implements Service {
  readonly name = 'fleet-redis';
  readonly #path: string;
  readonly #checkMs: number;
  readonly #requireDurable: boolean;
  readonly #listeners = new Set<(e: RedisEmptied) => Promise<void> | void>();
  #known: string | null;
  #runId: string | null = null;
  #durability: RedisDurability | null = null;
  #lastEmptied: RedisEmptied | null = null;
  #recovering = false;
  #checking: Promise<void> | null = null;
  #timer: NodeJS.Timeout | null = null;
  #state: ServiceState = 'idle';
  #error: string | null = null;
  readonly #onReady = (): void => void this.check();

  constructor(
    private readonly client: Redis,
    dataDir: string,
    private readonly clock: Clock,
    private readonly logger: Logger,
    options: RedisEpochOptions = {},
  ) {
    this.#path = join(dataDir, FILE);
    this.#checkMs = options.checkMs ?? 2_000;
    this.#requireDurable = options.requireDurable ?? false;
    this.#known = readKnown(this.#path);
  }

  /** Listeners run one after another after an emptied Redis is seen; one failing does not stop the rest. */
  onEmptied(listener: (e: RedisEmptied) => Promise<void> | void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get durability(): RedisDurability | null {
    return this.#durability;
  }

  get lastEmptied(): RedisEmptied | null {
    return this.#lastEmptied;
  }

  async start(): Promise<void> {
    this.#state = 'starting';
    // Not connected (down, or stopped and never answering): the first epoch check once Redis is back reads it.
    if (this.client.status !== 'ready' && !this.#requireDurable) {
      this.#state = 'running';
      return;
    }
    try {
      await withRedisDeadline(this.checkDurability(), 'redis persistence');
    } catch (err) {
      if (err instanceof PhError && err.code === 'PH_REDIS_NOT_DURABLE') throw err;
      if (this.#requireDurable) {
        throw new PhError('PH_REDIS_NOT_DURABLE', 'Redis is required to persist writes, and did not answer whether it does', {
          cause: err,
        });
      }
      this.logger.warn({ err: (err as Error).message }, 'redis persistence not readable at start');
    }
    this.#state = 'running';
  }

  /**
   * Starts comparing epochs: now, after every reconnect and every `checkMs`. Called once the node
   * has registered its listeners, so a Redis emptied while this node was down is recovered from too.
   */
  async watch(): Promise<void> {
    this.client.on('ready', this.#onReady);
    this.#timer = setInterval(() => void this.check(), this.#checkMs);
    this.#timer.unref();
    // Redis down or hung: the start goes on, and this check (or the next 'ready') reads the epoch once it answers.
    await redisIfConnected(this.client, this.check(), 'redis epoch').catch(() => undefined);
  }

  async stop(): Promise<void> {
    this.client.off('ready', this.#onReady);
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    await this.#checking;
    this.#state = 'stopped';
  }

  status(): { state: ServiceState; detail?: string } {
    if (this.#state !== 'running') return { state: this.#state };
    const notes: string[] = [];
    if (this.#lastEmptied !== null)
      notes.push(`Redis came back empty at ${new Date(this.#lastEmptied.at).toISOString()}; this node re-published what it owns`);
    if (this.#durability !== null && this.#durability.durable !== true) notes.push(`PH_REDIS_NOT_DURABLE: ${this.#durability.detail}`);
    if (this.#error !== null) notes.push(`redis: ${this.#error}`);
    if (notes.length > 0) return { state: 'degraded', detail: notes.join('; ') };
    return { state: 'running', detail: `epoch ${this.#known ?? '?'}, ${this.#durability?.detail ?? 'persistence unknown'}` };
  }

  /** Reads Redis's persistence; with `requireDurable`, anything but AOF on refuses (PH_REDIS_NOT_DURABLE). */
  async checkDurability(): Promise<RedisDurability> {
    const d = await checkRedisDurability(this.client);
    const changed = this.#durability?.durable !== d.durable;
    this.#durability = d;
    if (d.durable !== true) {
      if (this.#requireDurable) throw new PhError('PH_REDIS_NOT_DURABLE', `Redis is required to persist writes: ${d.detail}`);
      if (changed) this.logger.warn({ code: 'PH_REDIS_NOT_DURABLE', detail: d.detail }, 'redis does not persist its data');
    }
    return d;
  }

  /** The epoch this node knows, null while it recovers from an emptied Redis (compare with `stillSame`). */
  get known(): string | null {
    return this.#recovering ? null : this.#known;
  }

  /**
   * True when nothing was lost since `seen` was read from `known`: this node still knows that epoch,
   * is not recovering, and Redis still holds it. A sweep takes `known` before it reads Redis.
   */
  async stillSame(seen: string | null): Promise<boolean> {
    if (seen === null || seen !== this.known) return false;
    return (await this.client.get(EPOCH_KEY)) === seen && seen === this.known;
  }

  /** Reads the epoch now; when it changed, runs the listeners before resolving. */
  check(): Promise<void> {
    this.#checking ??= this.#check().finally(() => {
      this.#checking = null;
    });
    return this.#checking;
  }

  async #check(): Promise<void> {
    let epoch: string | null;
    let runId: string | null;
    try {
      const [info, current] = await Promise.all([this.client.info('server'), this.client.get(EPOCH_KEY)]);
      runId = /run_id:(\w+)/.exec(info)?.[1] ?? null;
      epoch = current;
      if (epoch === null) {
        // A Redis that never had one, or one that lost it: the first node to get here names the new dataset.
        await this.client.set(EPOCH_KEY, newId(), 'NX');
        epoch = await this.client.get(EPOCH_KEY);
      }
      this.#error = null;
    } catch (err) {
      this.#error = redisTrouble(err);
      this.logger.debug({ err }, 'redis epoch not read');
      return;
    }
    if (epoch === null) return;
    if (this.#durability === null) await this.checkDurability().catch(() => undefined);
    const previousRunId = this.#runId;
    this.#runId = runId;
    const previousEpoch = this.#known;
    if (previousEpoch === epoch) return;
    this.#recovering = previousEpoch !== null;
    this.#known = epoch;
    if (previousEpoch === null) {
      writeFileSync(this.#path, `${epoch}\n`, { mode: 0o600 });
      return;
    }
    const emptied: RedisEmptied = { previousEpoch, epoch, previousRunId, runId, at: this.clock.now() };
    this.#lastEmptied = emptied;
    this.logger.warn(
      { previousEpoch, epoch, previousRunId, runId },
      'redis came back empty (its epoch is gone): re-publishing what this node owns and re-enqueuing its jobs',
    );
    for (const listener of this.#listeners) {
      try {
        await listener(emptied);
      } catch (err) {
        this.logger.error({ err }, 'a listener failed to recover from the emptied redis');
      }
    }
    // Saved only once recovered: a node that dies mid-recovery recovers again when it starts.
    writeFileSync(this.#path, `${epoch}\n`, { mode: 0o600 });
    this.#recovering = false;
    await this.checkDurability().catch(() => undefined);
  }
}

function readKnown(path: string): string | null {
  try {
    const text = readFileSync(path, 'utf8').trim();
    return text === '' ? null : text;
  } catch {
    return null;
  }
}
