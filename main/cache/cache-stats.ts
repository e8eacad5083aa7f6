import { build, type Histogram } from 'hdr-histogram-js';

export type LatencyTier = 'l1' | 'l2' | 'l3' | 'loader';

function histogram(): Histogram {
  // Microseconds, 1 µs .. 10 min, 2 significant digits: a few KB each.
  return build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 2, autoResize: false });
}

export interface Latency {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Counters and latency histograms of one namespace. Plain fields: the hit path only increments. */
export class NamespaceStats {
  l1Hits = 0;
  l2Hits = 0;
  l3Hits = 0;
  misses = 0;
  staleServes = 0;
  loaderCalls = 0;
  loaderErrors = 0;
  loaderTimeouts = 0;
  sets = 0;
  deletes = 0;
  earlyRefreshes = 0;
  l1Evictions = 0;
  l2Errors = 0;
  readonly latency: Record<LatencyTier, Histogram> = { l1: histogram(), l2: histogram(), l3: histogram(), loader: histogram() };

  record(tier: LatencyTier, ms: number): void {
    this.latency[tier].recordValue(Math.max(1, Math.round(ms * 1000)));
  }

  latencySummary(tier: LatencyTier): Latency {
    const h = this.latency[tier];
    const ms = (us: number): number => Math.round(us) / 1000;
    return {
      count: h.totalCount,
      p50: ms(h.getValueAtPercentile(50)),
      p90: ms(h.getValueAtPercentile(90)),
      p99: ms(h.getValueAtPercentile(99)),
      max: ms(h.maxValue),
    };
  }

  counters(): Counters {
    return {
      l1Hits: this.l1Hits,
      l2Hits: this.l2Hits,
      l3Hits: this.l3Hits,
      misses: this.misses,
      staleServes: this.staleServes,
      loaderCalls: this.loaderCalls,
      loaderErrors: this.loaderErrors,
      loaderTimeouts: this.loaderTimeouts,
      sets: this.sets,
      deletes: this.deletes,
      earlyRefreshes: this.earlyRefreshes,
      l1Evictions: this.l1Evictions,
      l2Errors: this.l2Errors,
    };
  }
}

export interface Counters {
  l1Hits: number;
  l2Hits: number;
  l3Hits: number;
  misses: number;
  staleServes: number;
  loaderCalls: number;
  loaderErrors: number;
  loaderTimeouts: number;
  sets: number;
  deletes: number;
  earlyRefreshes: number;
  l1Evictions: number;
  l2Errors: number;
}

export function hitRatio(c: Pick<Counters, 'l1Hits' | 'l2Hits' | 'l3Hits' | 'misses' | 'staleServes'>): number | null {
  const total = c.l1Hits + c.l2Hits + c.l3Hits + c.misses + c.staleServes;
  return total === 0 ? null : (c.l1Hits + c.l2Hits + c.l3Hits) / total;
}

/**
 * The hottest keys, counted on a sample of hits (one in `every`) so the hit path stays cheap.
 * Bounded: when full, the colder half is dropped; counts halve once a minute so the list follows
 * what is hot now.
 */
export class HotKeys {
  readonly #counts = new Map<string, number>();

  constructor(private readonly capacity = 2000) {}

  touch(id: string): void {
    const n = this.#counts.get(id);
    if (n !== undefined) {
      this.#counts.set(id, n + 1);
      return;
    }
    if (this.#counts.size >= this.capacity) this.#prune();
    this.#counts.set(id, 1);
  }

  decay(): void {
    for (const [id, n] of this.#counts) {
      if (n <= 1) this.#counts.delete(id);
      else this.#counts.set(id, n >> 1);
    }
  }

  top(limit: number): { id: string; samples: number }[] {
    return [...this.#counts]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([id, samples]) => ({ id, samples }));
  }

  delete(predicate: (id: string) => boolean): void {
    for (const id of this.#counts.keys()) if (predicate(id)) this.#counts.delete(id);
  }

  #prune(): void {
    const sorted = [...this.#counts].sort((a, b) => a[1] - b[1]);
    for (const [id] of sorted.slice(0, Math.ceil(sorted.length / 2))) this.#counts.delete(id);
  }
}

export interface NamespaceFacts {
  readonly name: string;
  readonly counters: Counters;
  readonly l1Entries: number;
  readonly l1MaxEntries: number;
  readonly l1Bytes: number;
  readonly l1MaxBytes: number;
  readonly loaderP99Ms: number;
  readonly grace: number;
}

/** Plain-language advice computed from the numbers; each names the namespace and the figure behind it. */
export function recommendations(namespaces: readonly NamespaceFacts[], redis: { breakerOpens: number; state: string }): string[] {
  const out: string[] = [];
  const pct = (x: number): string => `${Math.round(x * 100)}%`;
  for (const ns of namespaces) {
    const c = ns.counters;
    const l1Misses = c.l2Hits + c.l3Hits + c.misses + c.staleServes;
    const lowerHits = c.l2Hits + c.l3Hits;
    const requests = c.l1Hits + l1Misses;
    if (requests < 20) continue;
    const full = ns.l1Entries >= ns.l1MaxEntries * 0.95 || ns.l1Bytes >= ns.l1MaxBytes * 0.95 || c.l1Evictions > 0;
    if (l1Misses > 0 && lowerHits / l1Misses >= 0.3 && full) {
      const limit = ns.l1Bytes >= ns.l1MaxBytes * 0.95 ? 'L1 max bytes' : 'L1 max entries';
      out.push(
        `namespace \`${ns.name}\`: ${pct(lowerHits / l1Misses)} of L1 misses are L2/L3 hits and L1 is full — raise ${limit} (now ${limit === 'L1 max bytes' ? ns.l1MaxBytes : ns.l1MaxEntries}).`,
      );
    }
    if (c.loaderCalls >= 10 && c.loaderErrors / c.loaderCalls >= 0.05) {
      out.push(
        ns.grace > 0
          ? `namespace \`${ns.name}\`: ${pct(c.loaderErrors / c.loaderCalls)} of loader calls fail; stale values covered ${c.staleServes} requests — look at the loader's backend.`
          : `namespace \`${ns.name}\`: ${pct(c.loaderErrors / c.loaderCalls)} of loader calls fail and there is no grace — set \`grace\` so callers get the last good value instead of an error.`,
      );
    }
    const missRatio = c.misses / requests;
    if (missRatio >= 0.5 && c.sets > 0 && c.l1Evictions === 0) {
      out.push(
        `namespace \`${ns.name}\`: ${pct(missRatio)} of requests miss every tier — the ttl may be too short for how often keys repeat, or warm the namespace at start.`,
      );
    }
    if (ns.loaderP99Ms >= 500 && c.earlyRefreshes === 0 && c.loaderCalls >= 10) {
      out.push(
        `namespace \`${ns.name}\`: the loader's p99 is ${Math.round(ns.loaderP99Ms)} ms — turn on \`earlyRefresh\` (e.g. 0.8) so hot keys refresh before they expire.`,
      );
    }
  }
  if (redis.breakerOpens > 0) {
    out.push(
      `Redis: the breaker opened ${redis.breakerOpens} time(s) (now ${redis.state}); reads fell back to L1/L3 — check Redis latency and the network.`,
    );
  }
  return out;
}
