import { LRUCache } from 'lru-cache';
import { PhError } from '../../contract/errors';
import type { CacheCore, L1Entry, Loader } from './cache-core';
import { entryView, largestEntries, type StoredEntryView } from './cache-inspect';
import { callLoader, freshOrStaleAt, insideLoaderOf } from './cache-loader';
import type { CacheEntry, TierName } from './entry';
import { NamespaceStats } from './cache-stats';
import { assertKey, assertTags, effectiveGrace, effectiveTtl, type EntryOptions, type NamespaceOptions } from './options';
import { loadUnderLease, readLower, type TierAccess } from './lower-tiers';
import { ReadFence } from './read-fence';
import { LateWrite } from './redis-tier';
import type { StoredEntry } from './sqlite-tier';

export type { CacheCore, Loader } from './cache-core';

const SAMPLE_MASK = 15;

/**
 * One namespace: its own L1 (lru-cache, bounded by entries and bytes), its options, its counters,
 * and the read path L1 → L2 → L3 → loader with single-flight, grace, timeouts and early refresh.
 * Below L1 the path lives in lower-tiers.ts (tier reads, the fleet's loader lease) and
 * cache-loader.ts (the loader call and its timeouts); this class keeps L1 and the single-flight maps.
 */
export class CacheNamespace {
  readonly lru: LRUCache<string, L1Entry>;
  readonly stats = new NamespaceStats();
  readonly defaults: EntryOptions;
  readonly l1MaxEntries: number;
  readonly l1MaxBytes: number;
  /** Resolutions in flight (tier reads plus load), one per key: concurrent misses share one. */
  readonly #inflight = new Map<string, Promise<unknown>>();
  /** Loader runs in flight, one per key; outlives a caller that took a stale value at the soft timeout. */
  readonly #loads = new Map<string, Promise<unknown>>();
  #ops = 0;
  /** Keeps an L2 reply out of L1 when its key was invalidated while the read awaited Redis. */
  readonly #fence = new ReadFence();
  /** The read path below L1 (lower-tiers.ts), handed this namespace's parts. */
  readonly #tiers: TierAccess;

  constructor(
    readonly name: string,
    private readonly core: CacheCore,
    options: NamespaceOptions,
    limits: { l1MaxEntries: number; l1MaxBytes: number },
  ) {
    const { l1MaxEntries, l1MaxBytes, ...defaults } = options;
    this.defaults = defaults;
    this.l1MaxEntries = l1MaxEntries ?? limits.l1MaxEntries;
    this.l1MaxBytes = l1MaxBytes ?? limits.l1MaxBytes;
    this.lru = new LRUCache<string, L1Entry>({
      max: this.l1MaxEntries,
      maxSize: this.l1MaxBytes,
      sizeCalculation: (e) => Math.max(1, e.size),
      dispose: (_v, _k, reason) => {
        if (reason === 'evict') this.stats.l1Evictions += 1;
      },
    });
    this.#tiers = {
      name,
      core,
      stats: this.stats,
      fence: this.#fence,
      putL1: (key, value, e) => this.#putL1(key, value, e),
      touchHot: (key) => this.#touchHot(key),
    };
  }

  /** Fresh value from the first tier that has it, or `undefined`. Stale within grace only when a tier failed. */
  get<T = unknown>(key: string): Promise<T | undefined> {
    const sampled = (++this.#ops & SAMPLE_MASK) === 0;
    const t0 = sampled ? performance.now() : 0;
    const e = this.lru.get(key);
    if (e !== undefined && e.freshUntil > this.core.now()) {
      this.stats.l1Hits += 1;
      if (sampled) this.#sampleL1Hit(key, t0);
      return (e.resolved ??= Promise.resolve(e.value)) as Promise<T>;
    }
    return this.#getSlow(key, e).then((found) => found?.value as T | undefined);
  }

  /**
   * As `get`, saying whether the value is stale: one served within grace because a tier failed
   * (Redis down) and no tier had a fresh one. REST answers it with `X-Cache-Stale: 1`.
   */
  lookup<T = unknown>(key: string): Promise<{ value: T; stale: boolean } | undefined> {
    const sampled = (++this.#ops & SAMPLE_MASK) === 0;
    const t0 = sampled ? performance.now() : 0;
    const e = this.lru.get(key);
    if (e !== undefined && e.freshUntil > this.core.now()) {
      this.stats.l1Hits += 1;
      if (sampled) this.#sampleL1Hit(key, t0);
      return Promise.resolve({ value: e.value as T, stale: false });
    }
    return this.#getSlow(key, e) as Promise<{ value: T; stale: boolean } | undefined>;
  }

  /** The fresh L1 value, synchronously, without touching lower tiers (counted as a hit or not at all). */
  peek<T = unknown>(key: string): T | undefined {
    const sampled = (++this.#ops & SAMPLE_MASK) === 0;
    const t0 = sampled ? performance.now() : 0;
    const e = this.lru.get(key);
    if (e === undefined || e.freshUntil <= this.core.now()) return undefined;
    this.stats.l1Hits += 1;
    if (sampled) this.#sampleL1Hit(key, t0);
    return e.value as T;
  }

  /**
   * The cached value, or the loader's. Concurrent misses on a key in this process share one
   * loader call; with Redis, nodes share one through a lease. Serves stale values within grace
   * when the loader fails or passes the soft timeout.
   */
  getOrSet<T>(key: string, loader: Loader<T>, options?: EntryOptions): Promise<T> {
    const sampled = (++this.#ops & SAMPLE_MASK) === 0;
    const t0 = sampled ? performance.now() : 0;
    const e = this.lru.get(key);
    if (e !== undefined) {
      const now = this.core.now();
      if (e.freshUntil > now) {
        this.stats.l1Hits += 1;
        if (sampled) this.#sampleL1Hit(key, t0);
        const early = options?.earlyRefresh ?? this.defaults.earlyRefresh;
        if (
          early !== undefined &&
          early > 0 &&
          early < 1 &&
          now >= e.createdAt + (e.freshUntil - e.createdAt) * early &&
          !this.#loads.has(key)
        ) {
          this.stats.earlyRefreshes += 1;
          const staleCopy = { value: e.value, staleUntil: e.staleUntil };
          this.#load(key, loader as Loader<unknown>, this.#merge(options), staleCopy).catch(() => undefined);
        }
        return (e.resolved ??= Promise.resolve(e.value)) as Promise<T>;
      }
    }
    assertKey(key, this.core.maxKeyBytes);
    if (insideLoaderOf(this.name + '\u0000' + key)) {
      // getOrSet on a key whose loader is this very call chain: waiting would wait for ourselves.
      return this.#runLoader(key, loader as Loader<unknown>, this.#merge(options), undefined) as Promise<T>;
    }
    let p = this.#inflight.get(key);
    if (p === undefined) {
      p = this.#resolve(key, loader as Loader<unknown>, this.#merge(options), e).finally(() => this.#inflight.delete(key));
      this.#inflight.set(key, p);
    }
    return p as Promise<T>;
  }

  /**
   * Writes through every tier; other nodes drop their copies. With Redis configured, a write that
   * Redis cannot take is refused (`PH_CACHE_WRITE_UNSHARED`) and undone here, rather than
   * acknowledged on one node only: a value the other nodes cannot see, which a Redis that comes
   * back empty would lose for them, is worse than a retry (docs/cache.md).
   */
  async set(key: string, value: unknown, options?: EntryOptions): Promise<void> {
    assertKey(key, this.core.maxKeyBytes);
    const l2 = this.core.l2;
    if (l2 !== null && !l2.link.available) {
      this.stats.l2Errors += 1;
      throw new PhError('PH_CACHE_WRITE_UNSHARED', `Redis is unreachable; ${this.name}/${key} was not written`);
    }
    await this.#write(key, value, this.#merge(options), true);
  }

  async delete(keys: readonly string[]): Promise<number> {
    let removed = 0;
    this.#fence.keys(keys);
    for (const key of keys) if (this.lru.delete(key)) removed += 1;
    this.core.l3?.delete(this.name, keys);
    this.stats.deletes += keys.length;
    this.core.hot.delete((id) => keys.some((k) => id === this.name + '\u0000' + k));
    if (this.core.l2 !== null) {
      try {
        removed = Math.max(removed, (await this.core.l2.delete(this.name, keys)).removed);
      } catch {
        this.stats.l2Errors += 1;
        this.core.bus?.queue(this.name, { keys });
      }
    }
    this.core.onInvalidated({ namespace: this.name, keys, origin: 'local' });
    return removed;
  }

  async deleteByTags(tags: readonly string[]): Promise<number> {
    let removed = this.dropLocalTags(tags);
    if (this.core.l2 !== null) {
      try {
        const dropped = await this.core.l2.deleteTags(this.name, tags);
        // What Redis dropped for carrying a tag goes here too, whatever tags this node's copy names.
        this.dropLocalKeys(dropped.keys);
        removed = Math.max(removed, dropped.removed);
      } catch {
        this.stats.l2Errors += 1;
        this.core.bus?.queue(this.name, { tags });
      }
    }
    this.core.onInvalidated({ namespace: this.name, tags, origin: 'local' });
    return removed;
  }

  /** Clears this namespace only, on every node. */
  async clear(): Promise<number> {
    let removed = this.dropLocalAll();
    if (this.core.l2 !== null) {
      try {
        removed = Math.max(removed, (await this.core.l2.clear(this.name)).removed);
      } catch {
        this.stats.l2Errors += 1;
        this.core.bus?.queue(this.name, { clear: true });
      }
    }
    this.core.onInvalidated({ namespace: this.name, all: true, origin: 'local' });
    return removed;
  }

  /** Local drops, for bus messages from other nodes: L1 and this node's L3, never L2. */
  dropLocalKeys(keys: readonly string[]): void {
    this.#fence.keys(keys);
    for (const key of keys) this.lru.delete(key);
    this.core.l3?.delete(this.name, keys);
  }

  dropLocalTags(tags: readonly string[]): number {
    // lru-cache has no secondary index; a scan of this namespace's L1 keeps the hit path free of
    // tag bookkeeping, and tag invalidations are rare next to reads.
    this.#fence.all();
    let removed = 0;
    for (const [key, e] of this.lru.entries()) {
      if (e.tags.length > 0 && e.tags.some((t) => tags.includes(t))) {
        this.lru.delete(key);
        removed += 1;
      }
    }
    removed = Math.max(removed, this.core.l3?.deleteTags(this.name, tags) ?? 0);
    return removed;
  }

  dropLocalAll(): number {
    this.#fence.all();
    const removed = Math.max(this.lru.size, this.core.l3?.clear(this.name) ?? 0);
    this.lru.clear();
    this.core.hot.delete((id) => id.startsWith(this.name + '\u0000'));
    return removed;
  }

  /** Where a key is now, for the console's inspector. */
  async inspect(key: string): Promise<{ tiers: Record<TierName, StoredEntryView | null>; value: unknown }> {
    assertKey(key, this.core.maxKeyBytes);
    const now = this.core.now();
    const l1 = this.lru.peek(key);
    let l2: StoredEntry | null = null;
    if (this.core.l2 !== null) l2 = await this.core.l2.get(this.name, key, now).catch(() => null);
    const l3 = this.core.l3?.get(this.name, key) ?? null;
    const value =
      l1 !== undefined && l1.staleUntil > now ? l1.value : l2 !== null ? this.#decode(l2) : l3 !== null ? this.#decode(l3) : undefined;
    return {
      tiers: {
        l1: entryView(l1, l1?.size ?? 0, now),
        l2: entryView(l2, l2?.bytes.length ?? 0, now),
        l3: entryView(l3, l3?.bytes.length ?? 0, now),
      },
      value,
    };
  }

  /** The largest keys in L1. */
  largest(limit: number): { key: string; size: number }[] {
    return largestEntries(this.lru, limit);
  }

  get l1Bytes(): number {
    return this.lru.calculatedSize;
  }

  #merge(options: EntryOptions | undefined): EntryOptions {
    return options === undefined ? this.defaults : { ...this.defaults, ...options };
  }

  async #getSlow(key: string, l1: L1Entry | undefined): Promise<{ value: unknown; stale: boolean } | undefined> {
    assertKey(key, this.core.maxKeyBytes);
    const found = await readLower(this.#tiers, key);
    if (found.fresh !== undefined) return { value: found.fresh, stale: false };
    const stale = this.#bestStale(l1, found.stale);
    if (found.failed && stale !== undefined) {
      this.stats.staleServes += 1;
      return { value: stale.value, stale: true };
    }
    this.stats.misses += 1;
    return undefined;
  }

  #bestStale(
    l1: L1Entry | undefined,
    lower: { value: unknown; staleUntil: number } | undefined,
  ): { value: unknown; staleUntil: number } | undefined {
    const now = this.core.now();
    const a = l1 !== undefined && l1.staleUntil > now ? l1 : undefined;
    const b = lower !== undefined && lower.staleUntil > now ? lower : undefined;
    if (a === undefined) return b;
    if (b === undefined) return a;
    return a.staleUntil >= b.staleUntil ? a : b;
  }

  async #resolve(key: string, loader: Loader<unknown>, options: EntryOptions, l1: L1Entry | undefined): Promise<unknown> {
    const found = await readLower(this.#tiers, key);
    if (found.fresh !== undefined) return found.fresh;
    const stale = this.#bestStale(l1, found.stale);
    this.stats.misses += 1;
    const load = this.#load(key, loader, options, stale);
    const soft = options.timeout;
    if (stale === undefined || soft === undefined) {
      try {
        return await load;
      } catch (err) {
        if (stale !== undefined) {
          this.#servedStale();
          return stale.value;
        }
        throw err;
      }
    }
    return freshOrStaleAt(load, soft, stale.value, () => this.#servedStale());
  }

  /** A read first counted as a miss ended with a stale value after all. */
  #servedStale(): void {
    this.stats.misses -= 1;
    this.stats.staleServes += 1;
  }

  /** One loader run per key at a time in this process; with Redis, one per fleet through a lease. */
  #load(key: string, loader: Loader<unknown>, options: EntryOptions, stale: { value: unknown } | undefined): Promise<unknown> {
    const running = this.#loads.get(key);
    if (running !== undefined) return running;
    const p = loadUnderLease(this.#tiers, key, options.hardTimeout, () => this.#runLoader(key, loader, options, stale)).finally(() =>
      this.#loads.delete(key),
    );
    p.catch(() => undefined); // callers that left at a timeout must not leave an unhandled rejection
    this.#loads.set(key, p);
    return p;
  }

  #runLoader(key: string, loader: Loader<unknown>, options: EntryOptions, stale: { value: unknown } | undefined): Promise<unknown> {
    return callLoader({
      namespace: this.name,
      key,
      loader,
      stale,
      hardTimeout: options.hardTimeout,
      stats: this.stats,
      write: (value) => this.#write(key, value, options),
    });
  }

  /** `shared`: the caller needs the write on every node, so a failed L2 write undoes it here and throws. */
  async #write(key: string, value: unknown, options: EntryOptions, shared = false): Promise<void> {
    if (value === undefined) throw new PhError('PH_INVALID_INPUT', 'undefined cannot be cached; use null', { field: 'value' });
    const tags = [...(options.tags ?? [])];
    assertTags(tags);
    const ttl = effectiveTtl(options);
    const grace = effectiveGrace(options);
    const bytes = this.core.serializer.encode(value);
    if (bytes.length > this.core.maxValueBytes) {
      throw new PhError('PH_CACHE_VALUE_TOO_LARGE', `The value is ${bytes.length} bytes; the limit is ${this.core.maxValueBytes}`, {
        field: 'value',
      });
    }
    const now = this.core.now();
    const entry: CacheEntry = {
      value,
      bytes,
      freshUntil: now + ttl,
      staleUntil: now + ttl + grace,
      createdAt: now,
      tags,
    };
    // L3 first: a write it refuses (a full disk) is refused whole, never left in L1 alone.
    this.core.l3?.set(this.name, key, entry);
    this.stats.sets += 1;
    this.#fence.keys([key]);
    this.#putL1(key, value, entry);
    const l2 = this.core.l2;
    if (l2 !== null) {
      try {
        await l2.set(this.name, key, entry, now);
        // Newer than any drop of this key still waiting for Redis, which would now drop this value.
        this.core.bus?.settled(this.name, key);
      } catch (err) {
        this.stats.l2Errors += 1;
        // Whether Redis applied it is unknown (unless it refused it as late): the other nodes, and
        // this one, drop the key when Redis is back.
        if (!(err instanceof LateWrite)) this.core.bus?.queue(this.name, { keys: [key] });
        if (shared) {
          this.dropLocalKeys([key]);
          throw new PhError('PH_CACHE_WRITE_UNSHARED', `Redis did not take the write of ${this.name}/${key}`);
        }
        // A loader's value: it lives in L1/L3 here and can be loaded again anywhere.
      }
    }
  }

  #putL1(key: string, value: unknown, e: Omit<StoredEntry, 'bytes'> & { bytes?: Buffer }): void {
    const size = e.bytes?.length ?? 64;
    this.lru.set(key, {
      value,
      freshUntil: e.freshUntil,
      staleUntil: e.staleUntil,
      createdAt: e.createdAt,
      tags: e.tags,
      size,
      resolved: undefined,
    });
  }

  #decode(e: StoredEntry): unknown {
    return this.core.serializer.decode(e.bytes);
  }

  /** One hit in 16 is timed (the lookup and freshness check) and counted towards the hot keys. */
  #sampleL1Hit(key: string, t0: number): void {
    this.stats.record('l1', performance.now() - t0);
    this.core.hot.touch(this.name + '\u0000' + key);
  }

  #touchHot(key: string): void {
    if ((++this.#ops & SAMPLE_MASK) === 0) this.core.hot.touch(this.name + '\u0000' + key);
  }
}
