/**
 * The cache service around the namespaces: the Redis connection and its breaker, the invalidation
 * bus, L3 and its write-behind, and the timers. The per-key logic lives in cache-namespace.ts and
 * the files beside it; analytics in cache-analytics.ts, warm-up lists in cache-warmup.ts.
 */
import type { Database } from 'better-sqlite3';
import type { Redis } from 'ioredis';
import { PhError } from '../../contract/errors';
import { systemClock, type Clock } from '../clock';
import type { EventBus } from '../events';
import type { FleetSeal } from '../fleet';
import type { Logger } from '../logger';
import type { Service, ServiceState } from '../service';
import type { L1Entry } from './cache-core';
import { CacheAnalytics, withoutKeyNames, type CacheRedisState, type CacheStats } from './cache-analytics';
import { listKeys, matchingKeys, type KeyFilter, type KeyMatch, type KeyPage, type KeyQuery, type KeySources } from './cache-key-list';
import { CacheNamespace, type CacheCore } from './cache-namespace';
import { HotKeys } from './cache-stats';
import { warmNamespace, type WarmOptions, type WarmProgress, type WarmupList } from './cache-warmup';
import { coarseNow } from './coarse-clock';
import { InvalidationBus } from './invalidation-bus';
import { assertNamespace, resolveCacheOptions, type CacheOptions, type NamespaceOptions, type ResolvedCacheOptions } from './options';
import { RedisLink } from './redis-link';
import { RedisTier, type BusMessage } from './redis-tier';
import { SqliteTier } from './sqlite-tier';

export interface TieredCacheDeps {
  /** The app's database for L3; null runs without L3. */
  readonly db: Database | null;
  /** The node's shared Redis client (duplicated, never used directly); null runs single-machine. */
  readonly redis: Redis | null;
  /** Seals what the cache writes to Redis and checks what it reads; required with `redis`. */
  readonly seal?: FleetSeal | null;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Where `cache.*` events go, and where `cache.invalidate` requests come from. */
  readonly events?: EventBus;
  readonly options?: CacheOptions;
}

const MAX_NAMESPACES = 1000;
const MAINTAIN_MS = 10_000;

/**
 * The three-tier cache as a service: L1 memory (lru-cache, per namespace) → L2 Redis (optional) →
 * L3 SQLite, with single-flight loading, grace, timeouts, tags, a pub/sub invalidation bus that
 * survives outages, a circuit breaker around Redis, and analytics.
 */
export class TieredCache implements Service {
  readonly name = 'cache';
  readonly options: ResolvedCacheOptions;
  readonly #namespaces = new Map<string, CacheNamespace>();
  readonly #core: { -readonly [K in keyof CacheCore]: CacheCore[K] };
  readonly #warmups = new Map<string, WarmupList>();
  #link: RedisLink | null = null;
  #state: ServiceState = 'idle';
  #timers: NodeJS.Timeout[] = [];
  #unsubscribe: (() => void) | null = null;
  readonly #analytics: CacheAnalytics;

  constructor(private readonly deps: TieredCacheDeps) {
    this.options = resolveCacheOptions(deps.options);
    this.#core = {
      clock: deps.clock,
      now: coarseNow(deps.clock, deps.clock === systemClock, this.options.clockResolutionMs),
      logger: deps.logger,
      serializer: this.options.serializer,
      l2: null,
      l3: null,
      bus: null,
      hot: new HotKeys(),
      leaseMs: this.options.leaseMs,
      maxKeyBytes: this.options.maxKeyBytes,
      maxValueBytes: this.options.maxValueBytes,
      onInvalidated: (event) =>
        this.deps.events?.publish('cache.invalidated', {
          ...event,
          keys: event.keys && [...event.keys],
          tags: event.tags && [...event.tags],
        }),
    };
    this.#analytics = new CacheAnalytics({
      clock: deps.clock,
      options: this.options,
      hot: this.#core.hot,
      namespaces: () => this.namespaces,
      l3: () => this.#core.l3,
      redisState: () => this.redisState(),
      warmups: () => this.warmupNames(),
    });
  }

  /** A namespace, created on first use with its configured options (or `options`, the first time). */
  namespace(name: string, options?: NamespaceOptions): CacheNamespace {
    const existing = this.#namespaces.get(name);
    if (existing !== undefined) return existing;
    assertNamespace(name);
    if (this.#namespaces.size >= MAX_NAMESPACES) throw new PhError('PH_CACHE_BAD_NAMESPACE', `At most ${MAX_NAMESPACES} namespaces`);
    const ns = new CacheNamespace(
      name,
      this.#core,
      { ...this.options.defaults, ...this.options.namespaces[name], ...options },
      this.options,
    );
    this.#namespaces.set(name, ns);
    return ns;
  }

  get namespaces(): readonly CacheNamespace[] {
    return [...this.#namespaces.values()];
  }

  /** The namespaces with a warm-up list on this node, in order. */
  warmupNames(): string[] {
    return [...this.#warmups.keys()].sort();
  }

  /** Register the warm-up list of a namespace; run at start (unless `atStart: false`) and by `warm()`. */
  registerWarmup(namespace: string, list: WarmupList): void {
    assertNamespace(namespace);
    this.#warmups.set(namespace, list);
  }

  async start(): Promise<void> {
    this.#state = 'starting';
    const { db, redis, logger } = this.deps;
    const o = this.options;
    if (db !== null && o.l3)
      this.#core.l3 = new SqliteTier(db, this.deps.clock, { maxBytes: o.l3MaxBytes, maxEntries: o.l3MaxEntries, flushMs: o.l3FlushMs });
    if (redis !== null) {
      this.#link = new RedisLink(
        redis,
        { commandTimeoutMs: o.redisCommandTimeoutMs, writeTimeoutMs: o.redisWriteTimeoutMs, breakerResetMs: o.breakerResetMs },
        logger.child({ component: 'cache-redis' }),
      );
      if (this.deps.seal === undefined || this.deps.seal === null) throw new Error('A cache on Redis needs the fleet seal');
      this.#core.l2 = new RedisTier(this.#link, o.prefix, o.nodeId, this.deps.seal);
      this.#core.bus = new InvalidationBus(
        this.#core.l2,
        o.nodeId,
        { apply: (m) => this.#applyRemote(m), resync: (ns) => this.#resync(ns), resyncAll: () => this.#resyncAll() },
        logger.child({ component: 'cache-bus' }),
        o.reconcileIntervalMs,
        this.#core.l3?.loadGenerations() ?? new Map(),
      );
      this.#link.onState(() => this.deps.events?.publish('cache.redis', this.redisState()));
      await this.#link.start();
      await this.#core.bus.start();
    }
    if (this.deps.events !== undefined) {
      this.#unsubscribe = this.deps.events.subscribe((message) => {
        if (message.event !== 'cache.invalidate') return;
        this.invalidate(message.payload).catch((err: unknown) => logger.warn({ err }, 'cache.invalidate event failed'));
      });
    }
    this.#every(o.historyIntervalMs, () => this.#tick());
    this.#every(MAINTAIN_MS, () => this.#maintain());
    this.#state = 'running';
    for (const [ns, list] of this.#warmups) {
      if (list.atStart !== false) void this.warm(ns).catch((err: unknown) => logger.warn({ err, ns }, 'cache warm-up failed'));
    }
  }

  async stop(): Promise<void> {
    if (this.#state === 'stopped' || this.#state === 'idle') return;
    this.#state = 'stopping';
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    this.#unsubscribe?.();
    this.#core.bus?.stop();
    try {
      if (this.#core.bus !== null) this.#core.l3?.saveGenerations(this.#core.bus.generations);
    } catch (err) {
      this.deps.logger.warn({ err }, 'cache generations could not be saved');
    }
    await this.#link?.stop();
    const lost = this.#core.l3?.close() ?? 0;
    if (lost > 0) this.deps.logger.error({ lost, failure: this.#core.l3?.failure }, 'cache L3 writes could not be flushed at stop');
    this.#state = 'stopped';
  }

  status(): { state: ServiceState; detail?: string } {
    if (this.#state !== 'running') return { state: this.#state };
    const failure = this.#core.l3?.failure ?? null;
    if (failure !== null)
      return {
        state: 'degraded',
        detail: `L3 write-behind failing since ${new Date(failure.since).toISOString()} (${failure.code}: ${failure.message}); ${failure.held} writes held in memory`,
      };
    const redis = this.#link?.state;
    if (redis === undefined) return { state: 'running', detail: 'L1 + L3 (no Redis)' };
    if (redis === 'up') return { state: 'running', detail: 'L1 + L2 Redis + L3' };
    return { state: 'degraded', detail: `Redis ${redis}: serving from L1/L3` };
  }

  redisState(): CacheRedisState {
    const link = this.#link;
    const bus = this.#core.bus;
    return {
      configured: link !== null,
      state: link?.state ?? 'not-configured',
      breakerOpens: link?.breakerOpens ?? 0,
      failures: link?.failures ?? 0,
      outbox: bus?.outboxSize ?? 0,
      busMessages: bus?.received ?? 0,
      resyncs: bus?.resyncs ?? 0,
    };
  }

  /** Drop keys, tagged entries, or a whole namespace, on every node. Returns how many went. */
  async invalidate(request: { namespace: string; keys?: readonly string[]; tags?: readonly string[]; all?: boolean }): Promise<number> {
    const ns = this.namespace(request.namespace);
    if (request.all === true) return ns.clear();
    let removed = 0;
    if (request.keys !== undefined && request.keys.length > 0) removed += await ns.delete(request.keys);
    if (request.tags !== undefined && request.tags.length > 0) removed += await ns.deleteByTags(request.tags);
    return removed;
  }

  /** Clears every namespace this node knows, plus any in L3. */
  async clearAll(): Promise<{ removed: number; namespaces: string[] }> {
    let removed = 0;
    const names = new Set(this.#namespaces.keys());
    for (const name of names) removed += await this.namespace(name).clear();
    removed += this.#core.l3?.clear(null) ?? 0;
    return { removed, namespaces: [...names] };
  }

  /**
   * Runs warm-up lists: keys already cached (any tier) cost no loader call. `onProgress` hears each
   * step (the `cache.warm` job turns it into job progress); `signal` stops between keys.
   */
  async warm(namespace?: string, options: WarmOptions = {}): Promise<WarmProgress[]> {
    const names = namespace === undefined ? [...this.#warmups.keys()] : [namespace];
    const results: WarmProgress[] = [];
    for (const name of names) {
      const list = this.#warmups.get(name);
      if (list === undefined) throw new PhError('PH_NOT_FOUND', `Namespace ${name} has no warm-up list`);
      const publish = (progress: WarmProgress) => this.deps.events?.publish('cache.warm.progress', progress);
      results.push(await warmNamespace(this.namespace(name), list, publish, options));
    }
    return results;
  }

  /** A page of a namespace's keys across tiers, for the console (cache-key-list.ts). */
  async keys(namespace: string, query: KeyQuery): Promise<KeyPage> {
    return listKeys(this.#keySources(namespace), query);
  }

  /** Every key of a namespace the filter matches across tiers, gathered once (cache.invalidateMatching). */
  async matchingKeys(namespace: string, filter: KeyFilter): Promise<KeyMatch> {
    return matchingKeys(this.#keySources(namespace), filter);
  }

  #keySources(namespace: string): KeySources {
    const ns = this.namespace(namespace);
    const now = this.deps.clock.now();
    const { l2, l3 } = this.#core;
    const live = function* () {
      for (const [key, e] of ns.lru.entries()) if (e.staleUntil > now) yield [key, e] as [string, L1Entry];
    };
    return {
      l1: live(),
      l3: l3 === null ? null : { keyNames: (prefix) => l3.keyNames(namespace, prefix), entries: (keys) => l3.entries(namespace, keys) },
      l2:
        l2 === null
          ? null
          : { available: () => l2.link.available, keyNames: (prefix) => l2.keys(namespace, prefix, Number.POSITIVE_INFINITY) },
    };
  }

  /** `deep` also asks for L3's size and the largest keys (scans); the periodic event skips that. */
  stats(deep = true): CacheStats {
    return this.#analytics.snapshot(deep);
  }

  /** Forces the L3 write queue out and runs L3 maintenance now (tests, shutdown paths). */
  flushL3(): void {
    this.#core.l3?.flush();
  }

  maintainL3(): { expired: number; evicted: number } {
    return this.#core.l3?.maintain() ?? { expired: 0, evicted: 0 };
  }

  /** Says a client wrote `key` (`cache.put`): clients holding a copy of it drop theirs (`cache.written`). */
  announceWritten(namespace: string, key: string): void {
    this.deps.events?.publish('cache.written', { namespace, keys: [key], origin: 'local' });
  }

  /** Checks the bus against Redis now, as after an outage. */
  reconcile(): Promise<void> {
    return this.#core.bus?.reconcile() ?? Promise.resolve();
  }

  #applyRemote(message: BusMessage): void {
    const ns = this.#namespaces.get(message.ns);
    const l3 = this.#core.l3;
    switch (message.op) {
      case 'set':
      case 'del':
        if (ns !== undefined) ns.dropLocalKeys(message.keys ?? []);
        else l3?.delete(message.ns, message.keys ?? []);
        if (message.op === 'del') this.#core.onInvalidated({ namespace: message.ns, keys: message.keys ?? [], origin: 'bus' });
        else this.deps.events?.publish('cache.written', { namespace: message.ns, keys: [...(message.keys ?? [])], origin: 'bus' });
        break;
      case 'tag':
        if (ns !== undefined) ns.dropLocalTags(message.tags ?? []);
        else l3?.deleteTags(message.ns, message.tags ?? []);
        this.#core.onInvalidated({ namespace: message.ns, tags: message.tags ?? [], origin: 'bus' });
        break;
      case 'clear':
        if (ns !== undefined) ns.dropLocalAll();
        else l3?.clear(message.ns);
        this.#core.onInvalidated({ namespace: message.ns, all: true, origin: 'bus' });
        break;
    }
  }

  #resync(name: string): void {
    const ns = this.#namespaces.get(name);
    if (ns !== undefined) ns.dropLocalAll();
    else this.#core.l3?.clear(name);
    this.#core.onInvalidated({ namespace: name, all: true, origin: 'resync' });
  }

  #resyncAll(): void {
    for (const ns of this.namespaces) {
      ns.dropLocalAll();
      this.#core.onInvalidated({ namespace: ns.name, all: true, origin: 'resync' });
    }
    this.#core.l3?.clear(null);
  }

  #tick(): void {
    this.#analytics.tick();
    // Viewers follow this event; key names are for operators, who read them from cache.stats.
    this.deps.events?.publish('cache.stats', withoutKeyNames(this.stats(false)));
  }

  #maintain(): void {
    try {
      const l3 = this.#core.l3;
      if (l3 !== null) {
        l3.maintain();
        this.#analytics.noteL3Usage(l3.usage());
      }
      if (this.#core.bus !== null) this.#core.l3?.saveGenerations(this.#core.bus.generations);
    } catch (err) {
      this.deps.logger.warn({ err }, 'cache L3 maintenance failed');
    }
  }

  #every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    t.unref();
    this.#timers.push(t);
  }
}
