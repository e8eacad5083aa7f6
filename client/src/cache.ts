import { ReadFence } from '../../main/cache/read-fence';
import type { EventFeed } from './events';
import { NotFoundError, type PilothouseError } from './errors';
import type { OperationInput } from './generated/contract';
import type { Transport } from './http';

export interface L1Options {
  /** Entries held at once; the least recently used go first (default 10,000). */
  readonly maxEntries?: number;
  /** The longest an entry is served from L1, whatever the server's TTL (default 60 s). */
  readonly maxAgeMs?: number;
}

interface Held {
  value: unknown;
  until: number;
}

/**
 * The server's cache, with an optional local L1 in front: a hit costs a map lookup, no request. It
 * stays coherent through the hub: every `cache.written` (a `cache.put` anywhere in the fleet) and
 * `cache.invalidated` (a delete, a tag or a namespace cleared) drops what L1 holds of it, and L1
 * holds nothing while the socket is down (it could have missed one). An entry also ends after
 * `maxAgeMs`, the server's own expiry being unknown to the client. A reply is put into L1 only if
 * no such event for its key arrived while the request was under way (docs/cache.md: the server's
 * own L1 guard, the same ReadFence): the reply may predate the write the event announces.
 */
export class Cache {
  readonly #l1 = new Map<string, Held>();
  /** Per namespace: the events that arrived while a request of a key was under way. */
  readonly #fences = new Map<string, ReadFence>();
  #live = false;
  #started: Promise<void> | null = null;
  readonly #max: number;
  readonly #maxAge: number;

  constructor(
    private readonly transport: Transport,
    private readonly events: EventFeed | null,
    options: L1Options = {},
    /** Why L1 is off though `l1` was not turned off: no WebSocket to follow the invalidations with. */
    readonly l1Unavailable: PilothouseError | null = null,
    private readonly now: () => number = Date.now,
  ) {
    this.#max = options.maxEntries ?? 10_000;
    this.#maxAge = options.maxAgeMs ?? 60_000;
  }

  /** The value, or undefined on a miss. */
  async get<T = unknown>(namespace: string, key: string): Promise<T | undefined> {
    const id = `${namespace}\u0000${key}`;
    if (this.#live) {
      const held = this.#l1.get(id);
      if (held !== undefined && held.until > this.now()) {
        // Most recently used goes last: the map's order is the eviction order.
        this.#l1.delete(id);
        this.#l1.set(id, held);
        return held.value as T;
      }
      if (held !== undefined) this.#l1.delete(id);
    } else await this.#start();
    try {
      const value = await this.#fenced(namespace, key, async () => {
        const found = await this.transport.call('cache.get', { namespace, key });
        // A stale value served within grace (Redis failing on the server) answers this call only:
        // held here, it would pass for fresh after the server has a fresh one again.
        return { value: found.value, keep: found.stale !== true };
      });
      return value as T;
    } catch (err) {
      if (err instanceof NotFoundError && err.code === 'PH_CACHE_MISS') return undefined;
      throw err;
    }
  }

  async set(
    namespace: string,
    key: string,
    value: unknown,
    options: Omit<OperationInput<'cache.put'>, 'namespace' | 'key' | 'value'> = {},
  ): Promise<void> {
    await this.#fenced(namespace, key, async () => {
      await this.transport.call('cache.put', { namespace, key, value, ...options });
      return { value, keep: true };
    });
  }

  async delete(namespace: string, key: string): Promise<void> {
    this.#fences.get(namespace)?.keys([key]);
    this.#l1.delete(`${namespace}\u0000${key}`);
    await this.transport.call('cache.delete', { namespace, key });
  }

  /** What L1 holds now (for tests and diagnostics). */
  get l1Size(): number {
    return this.#l1.size;
  }

  /**
   * Runs a request of `key` and holds the value it answers (when `keep`), unless an event dropping
   * the key (or its namespace, or all of L1) arrived meanwhile: the server may have replaced the
   * value after it answered, and the event that said so has already passed. The value still answers
   * the caller.
   */
  async #fenced(namespace: string, key: string, request: () => Promise<{ value: unknown; keep: boolean }>): Promise<unknown> {
    const fence = this.#fence(namespace);
    const began = fence.begin(key);
    try {
      const { value, keep } = await request();
      if (keep && !fence.changedSince(key, began)) this.#hold(`${namespace}\u0000${key}`, value);
      return value;
    } finally {
      fence.end(key);
    }
  }

  #fence(namespace: string): ReadFence {
    let fence = this.#fences.get(namespace);
    if (fence === undefined) this.#fences.set(namespace, (fence = new ReadFence()));
    return fence;
  }

  #hold(id: string, value: unknown): void {
    if (!this.#live) return;
    this.#l1.delete(id);
    this.#l1.set(id, { value, until: this.now() + this.#maxAge });
    if (this.#l1.size > this.#max) this.#l1.delete(this.#l1.keys().next().value as string);
  }

  #dropKeys(namespace: string, keys: readonly string[] | undefined): void {
    if (keys === undefined) return this.#dropNamespace(namespace);
    this.#fences.get(namespace)?.keys(keys);
    for (const key of keys) this.#l1.delete(`${namespace}\u0000${key}`);
  }

  #dropNamespace(namespace: string): void {
    this.#fences.get(namespace)?.all();
    const prefix = `${namespace}\u0000`;
    for (const id of [...this.#l1.keys()]) if (id.startsWith(prefix)) this.#l1.delete(id);
  }

  /** Follows the invalidations once; L1 is used only from then on. */
  #start(): Promise<void> {
    if (this.events === null) return Promise.resolve();
    this.#started ??= (async () => {
      await this.events?.on('cache.written', (w) => this.#dropKeys(w.namespace, w.keys));
      // Tags are not known to L1: a tag invalidation drops the whole namespace.
      await this.events?.on('cache.invalidated', (i) =>
        i.all === true || i.tags !== undefined ? this.#dropNamespace(i.namespace) : this.#dropKeys(i.namespace, i.keys),
      );
      this.#live = true;
    })().catch(() => {
      this.#started = null;
    });
    return this.#started;
  }

  /** The socket dropped: L1 may have missed an invalidation, so it is emptied and unused until it is back. */
  disconnected(): void {
    this.#live = false;
    this.#l1.clear();
    // A request answered after the socket is back must not fill L1 with what the gap may have changed.
    for (const fence of this.#fences.values()) fence.all();
  }

  /** The socket is back and follows the events again. */
  reconnected(): void {
    if (this.#started !== null) this.#live = true;
  }
}
