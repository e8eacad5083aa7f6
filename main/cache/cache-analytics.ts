import type { Static } from '@sinclair/typebox';
import type { CacheRedisStateSchema, CacheStatsSchema } from '../../contract/ops/cache';
import type { Clock } from '../clock';
import type { CacheNamespace } from './cache-namespace';
import { hitRatio, recommendations, type Counters, type HotKeys } from './cache-stats';
import type { ResolvedCacheOptions } from './options';
import type { SqliteTier } from './sqlite-tier';

export type CacheStats = Static<typeof CacheStatsSchema>;
export type CacheRedisState = Static<typeof CacheRedisStateSchema>;

interface HistoryPoint {
  at: number;
  l1Hits: number;
  l2Hits: number;
  l3Hits: number;
  misses: number;
  staleServes: number;
  hitRatio: number | null;
  namespaces: Record<string, number | null>;
}

/** What the analytics read of the cache, each time they are asked (L3 exists only once the cache started). */
export interface AnalyticsSources {
  readonly clock: Clock;
  readonly options: ResolvedCacheOptions;
  readonly hot: HotKeys;
  readonly namespaces: () => readonly CacheNamespace[];
  readonly l3: () => SqliteTier | null;
  readonly redisState: () => CacheRedisState;
  readonly warmups: () => string[];
}

/**
 * The cache's analytics: the hit-ratio history, one point a tick, and the `cache.stats` snapshot
 * (counters and latency per namespace, L3's size, hottest and largest keys, recommendations).
 */
export class CacheAnalytics {
  #history: HistoryPoint[] = [];
  #lastTotals = new Map<string, Counters>();
  #l3Usage = { entries: 0, bytes: 0 };
  #ticks = 0;
  #largest: { namespace: string; key: string; size: number }[] = [];

  constructor(private readonly src: AnalyticsSources) {}

  /** L3's size as maintenance last measured it, repeated by the snapshots that do not scan. */
  noteL3Usage(usage: { entries: number; bytes: number }): void {
    this.#l3Usage = usage;
  }

  /** Adds one history point (the hits since the last tick) and ages the hot keys once a minute. */
  tick(): void {
    const point: HistoryPoint = {
      at: this.src.clock.now(),
      l1Hits: 0,
      l2Hits: 0,
      l3Hits: 0,
      misses: 0,
      staleServes: 0,
      hitRatio: null,
      namespaces: {},
    };
    for (const ns of this.src.namespaces()) {
      const now = ns.stats.counters();
      const before = this.#lastTotals.get(ns.name) ?? emptyCounters();
      this.#lastTotals.set(ns.name, now);
      const d = {
        l1Hits: now.l1Hits - before.l1Hits,
        l2Hits: now.l2Hits - before.l2Hits,
        l3Hits: now.l3Hits - before.l3Hits,
        misses: now.misses - before.misses,
        staleServes: now.staleServes - before.staleServes,
      };
      point.l1Hits += d.l1Hits;
      point.l2Hits += d.l2Hits;
      point.l3Hits += d.l3Hits;
      point.misses += d.misses;
      point.staleServes += d.staleServes;
      point.namespaces[ns.name] = hitRatio(d);
    }
    point.hitRatio = hitRatio(point);
    const { historyLength, historyIntervalMs } = this.src.options;
    this.#history.push(point);
    if (this.#history.length > historyLength) this.#history.shift();
    this.#ticks += 1;
    if (this.#ticks % Math.max(1, Math.round(60_000 / historyIntervalMs)) === 0) this.src.hot.decay();
  }

  /** `deep` also asks for L3's size and the largest keys (scans); the periodic event skips that. */
  snapshot(deep: boolean): CacheStats {
    const all = this.src.namespaces();
    const totals = emptyCounters();
    const namespaces = all.map((ns) => {
      const counters = ns.stats.counters();
      for (const k of Object.keys(totals) as (keyof Counters)[]) totals[k] += counters[k];
      return {
        name: ns.name,
        counters,
        hitRatio: hitRatio(counters),
        l1Entries: ns.lru.size,
        l1Bytes: ns.l1Bytes,
        l1MaxEntries: ns.l1MaxEntries,
        l1MaxBytes: ns.l1MaxBytes,
        latency: {
          l1: ns.stats.latencySummary('l1'),
          l2: ns.stats.latencySummary('l2'),
          l3: ns.stats.latencySummary('l3'),
          loader: ns.stats.latencySummary('loader'),
        },
      };
    });
    const l3 = this.src.l3();
    if (deep && l3 !== null) this.#l3Usage = l3.usage();
    const usage = this.#l3Usage;
    // The largest keys cost a scan (L3 rows, or every L1 entry without L3): only on request; the
    // periodic event repeats the last answer.
    if (deep) {
      this.#largest = l3 !== null ? l3.largest(10) : all.flatMap((ns) => ns.largest(10).map((e) => ({ namespace: ns.name, ...e })));
    }
    const largest = [...this.#largest];
    const redis = this.src.redisState();
    return {
      nodeId: this.src.options.nodeId,
      at: new Date(this.src.clock.now()).toISOString(),
      redis,
      totals: { counters: totals, hitRatio: hitRatio(totals) },
      l3: { enabled: l3 !== null, entries: usage.entries, bytes: usage.bytes, maxBytes: this.src.options.l3MaxBytes },
      namespaces,
      history: this.#history.map((h) => ({ ...h, at: new Date(h.at).toISOString() })),
      hottest: this.src.hot.top(10).map(({ id, samples }) => {
        const cut = id.indexOf('\u0000');
        return { namespace: id.slice(0, cut), key: id.slice(cut + 1), samples };
      }),
      largest: largest.sort((a, b) => b.size - a.size).slice(0, 10),
      recommendations: recommendations(
        all.map((ns) => ({
          name: ns.name,
          counters: ns.stats.counters(),
          l1Entries: ns.lru.size,
          l1MaxEntries: ns.l1MaxEntries,
          l1Bytes: ns.l1Bytes,
          l1MaxBytes: ns.l1MaxBytes,
          loaderP99Ms: ns.stats.latencySummary('loader').p99,
          grace: ns.defaults.grace ?? 0,
        })),
        { breakerOpens: redis.breakerOpens, state: redis.state },
      ),
      warmups: this.src.warmups(),
      keysHidden: false,
    };
  }
}

function emptyCounters(): Counters {
  return {
    l1Hits: 0,
    l2Hits: 0,
    l3Hits: 0,
    misses: 0,
    staleServes: 0,
    loaderCalls: 0,
    loaderErrors: 0,
    loaderTimeouts: 0,
    sets: 0,
    deletes: 0,
    earlyRefreshes: 0,
    l1Evictions: 0,
    l2Errors: 0,
  };
}

/** Stats as a viewer may read them: key names (the hottest and largest keys) are for operators, as `cache.keys` is. */
export function withoutKeyNames(stats: CacheStats): CacheStats {
  return { ...stats, hottest: [], largest: [], keysHidden: true };
}
