import { AsyncLocalStorage } from 'node:async_hooks';
import { LRUCache } from 'lru-cache';
import { PhError } from '../../contract/errors';
import type { Clock } from '../clock';
import type { Logger } from '../logger';
import type { CacheEntry, TierName } from './entry';
import { type HotKeys, NamespaceStats } from './cache-stats';
import type { InvalidationBus } from './invalidation-bus';
import { assertKey, effectiveGrace, effectiveTtl, type EntryOptions, type NamespaceOptions } from './options';
import type { RedisTier } from './redis-tier';
import type { Serializer } from './serializer';
import type { SqliteTier, StoredEntry } from './sqlite-tier';

/** What a loader is given: the key, a signal aborted at the hard timeout, and the stale value if any. */
export interface LoaderContext<T> {
  readonly key: string;
  readonly signal: AbortSignal;
  readonly stale: T | undefined;
}
export type Loader<T> = (ctx: LoaderContext<T>) => T | Promise<T>;

/** What every namespace shares: the tiers below L1, the clock, limits. */
export interface CacheCore {
  readonly clock: Clock;
  /** The time for freshness checks: the clock, read at most once a millisecond for the system clock. */
  readonly now: () => number;
  readonly logger: Logger;
  readonly serializer: Serializer;
  readonly l2: RedisTier | null;
  readonly l3: SqliteTier | null;
  readonly bus: InvalidationBus | null;
  readonly hot: HotKeys;
  readonly leaseMs: number;
  readonly maxKeyBytes: number;
  readonly maxValueBytes: number;
  readonly onInvalidated: (event: {
    namespace: string;
    keys?: readonly string[];
    tags?: readonly string[];
    all?: boolean;
    origin: 'local' | 'bus' | 'resync';
  }) => void;
}

interface L1Entry {
  value: unknown;
  freshUntil: number;
  staleUntil: number;
  createdAt: number;
  tags: readonly string[];
  size: number;
  /** The settled promise handed to callers on a hit, made once per entry rather than per call. */
  resolved: Promise<unknown> | undefined;
}

/** Keys whose loader is running in this async context: a nested getOrSet on one of them must not wait for itself. */
const loading = new AsyncLocalStorage<ReadonlySet<string>>();

const SAMPLE_MASK = 15;

/**
 * One namespace: its own L1 (lru-cache, bounded by entries and bytes), its options, its counters,
 * and the read path L1 → L2 → L3 → loader with single-flight, grace, timeouts and early refresh.
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
  /**
   * Invalidation sequence: a read from L2 may install its reply into L1 only if no invalidation of
   * that key (or of the whole namespace, or of a tag) happened while it awaited Redis; otherwise an
   * old value read before another node's overwrite would sit in L1 after the invalidation passed.
   * Per-key marks are kept only while a read of that key is in flight, so the map stays small.
   */
  #seq = 0;
  #bulkSeq = 0;
  readonly #keySeq = new Map<string, number>();
  readonly #readers = new Map<string, number>();

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
  }

  /** Fresh value from the first tier that has it, or `undefined`. Stale within grace only when a tier failed. */
  get<T = unknown>(key: string): Promise<T | undefined> {
    const e = this.lru.get(key);
    if (e !== undefined && e.freshUntil > this.core.now()) {
      this.stats.l1Hits += 1;
      if ((++this.#ops & SAMPLE_MASK) === 0) this.core.hot.touch(this.name + '\u0000' + key);
      return (e.resolved ??= Promise.resolve(e.value)) as Promise<T>;
    }
    return this.#getSlow<T>(key, e);
  }

  /** The fresh L1 value, synchronously, without touching lower tiers (counted as a hit or not at all). */
  peek<T = unknown>(key: string): T | undefined {
    const e = this.lru.get(key);
    if (e === undefined || e.freshUntil <= this.core.now()) return undefined;
    this.stats.l1Hits += 1;
    return e.value as T;
  }

  /**
   * The cached value, or the loader's. Concurrent misses on a key in this process share one
   * loader call; with Redis, nodes share one through a lease. Serves stale values within grace
   * when the loader fails or passes the soft timeout.
   */
  getOrSet<T>(key: string, loader: Loader<T>, options?: EntryOptions): Promise<T> {
    const e = this.lru.get(key);
    if (e !== undefined) {
      const now = this.core.now();
      if (e.freshUntil > now) {
        this.stats.l1Hits += 1;
        if ((++this.#ops & SAMPLE_MASK) === 0) this.core.hot.touch(this.name + '\u0000' + key);
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
    const chain = loading.getStore();
    if (chain !== undefined && chain.has(this.name + '\u0000' + key)) {
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
    this.#invalidated(keys);
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
        removed = Math.max(removed, (await this.core.l2.deleteTags(this.name, tags)).removed);
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
    this.#invalidated(keys);
    for (const key of keys) this.lru.delete(key);
    this.core.l3?.delete(this.name, keys);
  }

  dropLocalTags(tags: readonly string[]): number {
    // lru-cache has no secondary index; a scan of this namespace's L1 keeps the hit path free of
    // tag bookkeeping, and tag invalidations are rare next to reads.
    this.#bulkSeq = ++this.#seq;
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
    this.#bulkSeq = ++this.#seq;
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
    if (this.core.l2 !== null) l2 = await this.core.l2.get(this.name, key).catch(() => null);
    const l3 = this.core.l3?.get(this.name, key) ?? null;
    const view = (
      e: { freshUntil: number; staleUntil: number; createdAt: number; tags: readonly string[] } | null | undefined,
      size: number,
    ): StoredEntryView | null =>
      e === null || e === undefined || e.staleUntil <= now
        ? null
        : {
            size,
            freshUntil: e.freshUntil,
            staleUntil: e.staleUntil,
            createdAt: e.createdAt,
            tags: [...e.tags],
            fresh: e.freshUntil > now,
          };
    const value =
      l1 !== undefined && l1.staleUntil > now ? l1.value : l2 !== null ? this.#decode(l2) : l3 !== null ? this.#decode(l3) : undefined;
    return {
      tiers: { l1: view(l1, l1?.size ?? 0), l2: view(l2, l2?.bytes.length ?? 0), l3: view(l3, l3?.bytes.length ?? 0) },
      value,
    };
  }

  /** The largest keys in L1. */
  largest(limit: number): { key: string; size: number }[] {
    const top: { key: string; size: number }[] = [];
    for (const [key, e] of this.lru.entries()) {
      top.push({ key, size: e.size });
      if (top.length > limit * 4) {
        top.sort((a, b) => b.size - a.size);
        top.length = limit;
      }
    }
    return top.sort((a, b) => b.size - a.size).slice(0, limit);
  }

  get l1Bytes(): number {
    return this.lru.calculatedSize;
  }

  #merge(options: EntryOptions | undefined): EntryOptions {
    return options === undefined ? this.defaults : { ...this.defaults, ...options };
  }

  async #getSlow<T>(key: string, l1: L1Entry | undefined): Promise<T | undefined> {
    assertKey(key, this.core.maxKeyBytes);
    const found = await this.#readLower(key);
    if (found.fresh !== undefined) return found.fresh as T;
    const stale = this.#bestStale(l1, found.stale);
    if (found.failed && stale !== undefined) {
      this.stats.staleServes += 1;
      return stale.value as T;
    }
    this.stats.misses += 1;
    return undefined;
  }

  /** L2 then L3; a fresh hit is promoted to the tiers above. Never throws: a failed tier is skipped. */
  async #readLower(key: string): Promise<{ fresh?: unknown; stale?: { value: unknown; staleUntil: number }; failed: boolean }> {
    let failed = false;
    let stale: { value: unknown; staleUntil: number } | undefined;
    const { l2, l3 } = this.core;
    if (l2 !== null) {
      if (l2.link.available) {
        const t0 = performance.now();
        const began = this.#beginRead(key);
        try {
          const e = await l2.get(this.name, key);
          this.stats.record('l2', performance.now() - t0);
          const now = this.core.now();
          if (e !== null && e.staleUntil > now) {
            const value = this.#decode(e);
            if (e.freshUntil > now) {
              this.stats.l2Hits += 1;
              this.#touchHot(key);
              // The reply answers this read (it was current when the read began) but is not kept if
              // the key was invalidated meanwhile: the next read goes to Redis again.
              if (!this.#invalidatedSince(key, began)) this.#putL1(key, value, e);
              return { fresh: value, failed };
            }
            stale = { value, staleUntil: e.staleUntil };
          }
        } catch {
          this.stats.l2Errors += 1;
          failed = true;
        } finally {
          this.#endRead(key);
        }
      } else {
        failed = true;
      }
    }
    if (l3 !== null) {
      const t0 = performance.now();
      const e = l3.get(this.name, key);
      this.stats.record('l3', performance.now() - t0);
      const now = this.core.now();
      if (e !== null && e.staleUntil > now) {
        const value = this.#decode(e);
        if (e.freshUntil > now) {
          this.stats.l3Hits += 1;
          this.#touchHot(key);
          this.#putL1(key, value, e);
          if (l2 !== null && l2.link.available) {
            l2.promote(this.name, key, { ...e, value }, now).catch(() => {
              this.stats.l2Errors += 1;
            });
          }
          return { fresh: value, failed };
        }
        if (stale === undefined || e.staleUntil > stale.staleUntil) stale = { value, staleUntil: e.staleUntil };
      }
    }
    return stale === undefined ? { failed } : { stale, failed };
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
    const found = await this.#readLower(key);
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
    // A stale value is at hand: whichever comes first, the fresh value or the soft timeout.
    return new Promise((resolve) => {
      let settled = false;
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        this.#servedStale();
        resolve(stale.value);
      }, soft);
      load.then(
        (value) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve(value);
        },
        () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          this.#servedStale();
          resolve(stale.value);
        },
      );
    });
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
    const p = this.#loadAcrossNodes(key, loader, options, stale).finally(() => this.#loads.delete(key));
    p.catch(() => undefined); // callers that left at a timeout must not leave an unhandled rejection
    this.#loads.set(key, p);
    return p;
  }

  async #loadAcrossNodes(
    key: string,
    loader: Loader<unknown>,
    options: EntryOptions,
    stale: { value: unknown } | undefined,
  ): Promise<unknown> {
    const l2 = this.core.l2;
    if (l2 === null || !l2.link.available) return this.#runLoader(key, loader, options, stale);
    const leaseMs = Math.max(this.core.leaseMs, options.hardTimeout ?? 0);
    const deadline = this.core.now() + leaseMs;
    let delay = 5;
    for (let attempt = 0; ; attempt += 1) {
      // A failed Redis call is retried while the link still counts as available (one slow reply
      // under load should not double the loader calls); once the breaker opens or the connection
      // drops, this node loads on its own rather than wait.
      let token: string | null;
      try {
        token = await l2.acquireLease(this.name, key, leaseMs);
      } catch {
        if (!l2.link.available || this.core.now() >= deadline) return this.#runLoader(key, loader, options, stale);
        token = null;
      }
      if (token !== null) {
        try {
          if (attempt > 0) {
            // Someone held the lease before us: their value may be in L2 already.
            const began = this.#beginRead(key);
            const e = await l2
              .get(this.name, key)
              .catch(() => null)
              .finally(() => this.#endRead(key));
            if (e !== null && e.freshUntil > this.core.now()) return this.#acceptRemote(key, e, began);
          }
          return await this.#runLoader(key, loader, options, stale);
        } finally {
          l2.releaseLease(this.name, key, token).catch(() => undefined);
        }
      }
      // Another node is loading: wait for its value in L2, or for the lease to free up.
      await sleep(delay);
      delay = Math.min(50, delay * 2);
      const began = this.#beginRead(key);
      try {
        const e = await l2.get(this.name, key);
        if (e !== null && e.freshUntil > this.core.now()) return this.#acceptRemote(key, e, began);
      } catch {
        if (!l2.link.available) return this.#runLoader(key, loader, options, stale);
      } finally {
        this.#endRead(key);
      }
      if (this.core.now() >= deadline) return this.#runLoader(key, loader, options, stale);
    }
  }

  #acceptRemote(key: string, e: StoredEntry, began: number): unknown {
    const value = this.#decode(e);
    this.stats.l2Hits += 1;
    if (this.#invalidatedSince(key, began)) return value;
    this.#putL1(key, value, e);
    this.core.l3?.fill(this.name, key, e);
    return value;
  }

  /** Marks a read of `key` from L2 as begun; returns the sequence to compare with once it answers. */
  #beginRead(key: string): number {
    this.#readers.set(key, (this.#readers.get(key) ?? 0) + 1);
    return this.#seq;
  }

  #endRead(key: string): void {
    const left = (this.#readers.get(key) ?? 1) - 1;
    if (left > 0) {
      this.#readers.set(key, left);
      return;
    }
    this.#readers.delete(key);
    this.#keySeq.delete(key);
  }

  #invalidatedSince(key: string, began: number): boolean {
    return this.#bulkSeq > began || (this.#keySeq.get(key) ?? 0) > began;
  }

  /** Records an invalidation (or a newer local write) of keys that reads may be awaiting. */
  #invalidated(keys: readonly string[]): void {
    if (this.#readers.size === 0) return;
    for (const key of keys) if (this.#readers.has(key)) this.#keySeq.set(key, ++this.#seq);
  }

  /** Calls the loader (marking the key as loading in this async chain), bounded by the hard timeout, then writes through. */
  #runLoader(key: string, loader: Loader<unknown>, options: EntryOptions, stale: { value: unknown } | undefined): Promise<unknown> {
    this.stats.loaderCalls += 1;
    const controller = new AbortController();
    const parent = loading.getStore();
    const chain = new Set(parent);
    chain.add(this.name + '\u0000' + key);
    const t0 = performance.now();
    const run = loading.run(chain, async () => loader({ key, signal: controller.signal, stale: stale?.value }));
    const written = run.then(async (value) => {
      this.stats.record('loader', performance.now() - t0);
      await this.#write(key, value, options);
      return value;
    });
    written.catch(() => undefined);
    const hard = options.hardTimeout;
    if (hard === undefined) {
      return written.catch((err: unknown) => {
        this.stats.loaderErrors += 1;
        throw err;
      });
    }
    return new Promise((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        this.stats.loaderTimeouts += 1;
        controller.abort(new PhError('PH_CACHE_LOADER_TIMEOUT'));
        reject(new PhError('PH_CACHE_LOADER_TIMEOUT', `The loader for ${this.name}/${key} took longer than ${hard} ms`));
      }, hard);
      written.then(
        (value) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve(value);
        },
        (err: unknown) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          this.stats.loaderErrors += 1;
          reject(err);
        },
      );
    });
  }

  /** `shared`: the caller needs the write on every node, so a failed L2 write undoes it here and throws. */
  async #write(key: string, value: unknown, options: EntryOptions, shared = false): Promise<void> {
    if (value === undefined) throw new PhError('PH_INVALID_INPUT', 'undefined cannot be cached; use null', { field: 'value' });
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
      tags: [...(options.tags ?? [])],
    };
    // L3 first: a write it refuses (a full disk) is refused whole, never left in L1 alone.
    this.core.l3?.set(this.name, key, entry);
    this.stats.sets += 1;
    this.#invalidated([key]);
    this.#putL1(key, value, entry);
    const l2 = this.core.l2;
    if (l2 !== null) {
      try {
        await l2.set(this.name, key, entry, now);
      } catch {
        this.stats.l2Errors += 1;
        // Whether Redis applied it is unknown: the other nodes drop the key when Redis is back.
        this.core.bus?.queue(this.name, { keys: [key] });
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

  #touchHot(key: string): void {
    if ((++this.#ops & SAMPLE_MASK) === 0) this.core.hot.touch(this.name + '\u0000' + key);
  }
}

export interface StoredEntryView {
  size: number;
  freshUntil: number;
  staleUntil: number;
  createdAt: number;
  tags: string[];
  fresh: boolean;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
