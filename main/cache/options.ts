import { PhError } from '../../contract/errors';
import { isWellFormed } from '../core';
import { jsonSerializer, type Serializer } from './serializer';

/** What one entry is written with; per call, falling back to its namespace, then to the cache. */
export interface EntryOptions {
  /** How long a value is fresh, in ms. Any length up to ten years: no timer is kept per entry. Default 60 000. */
  readonly ttl?: number;
  /** How long after `ttl` a stale value may still be served while a fresh one loads or when a loader or tier fails, in ms. Default 0. */
  readonly grace?: number;
  /** Soft timeout (ms): when a stale value is at hand and the loader takes longer, return the stale value; the load goes on in the background. Default: wait. */
  readonly timeout?: number;
  /** Hard timeout (ms): give up on the loader after this long (stale value if any, else PH_CACHE_LOADER_TIMEOUT). Default: none. */
  readonly hardTimeout?: number;
  /** Refresh in the background when a hit is older than this fraction of its ttl (0 < x < 1). Default: off. */
  readonly earlyRefresh?: number;
  /** Spread expiries: the ttl is scaled by a random factor in [1 - jitter, 1 + jitter]. Default 0. */
  readonly jitter?: number;
  readonly tags?: readonly string[];
}

export interface NamespaceOptions extends EntryOptions {
  /** L1 limits for this namespace. */
  readonly l1MaxEntries?: number;
  readonly l1MaxBytes?: number;
}

export interface CacheOptions {
  /** Entry defaults for every namespace. */
  readonly defaults?: EntryOptions;
  /** Options per namespace, by name. */
  readonly namespaces?: Readonly<Record<string, NamespaceOptions>>;
  /** L1 limits per namespace (entries and bytes). Defaults 10 000 and 64 MiB. */
  readonly l1MaxEntries?: number;
  readonly l1MaxBytes?: number;
  /** L3 (SQLite) bounds; past them the least recently used entries are evicted. Defaults 256 MiB, 1 000 000. */
  readonly l3MaxBytes?: number;
  readonly l3MaxEntries?: number;
  /** Write-behind delay for L3 writes, in ms. Default 25. */
  readonly l3FlushMs?: number;
  /** Turn L3 off (tests of the other tiers, benches of raw L1). Default on. */
  readonly l3?: boolean;
  readonly serializer?: Serializer;
  /**
   * Every Redis command gives up after this many ms (the breaker counts it as a failure). Default
   * 100: the time includes this process's own event-loop delays, and 50 ms tripped the breaker on
   * a busy two-core machine with Redis healthy.
   */
  readonly redisCommandTimeoutMs?: number;
  /**
   * Writes, deletes and invalidations give up after this many ms, on their own connection. Default
   * 1000: a write refused is a 503 to retry, and the 100 ms of reads refused ~5% of 25 parallel
   * writes on three nodes of a busy machine. Redis applies a write only within the first 3/4 of it,
   * so a write refused for its time never lands later.
   */
  readonly redisWriteTimeoutMs?: number;
  /** How long the breaker stays open before it lets one call through to test Redis. Default 1000. */
  readonly breakerResetMs?: number;
  /** Cross-node single-flight lease length in ms. Default 10 000. */
  readonly leaseMs?: number;
  /** How often a node compares its namespace generations with Redis. Default 5000. */
  readonly reconcileIntervalMs?: number;
  /** Hit-ratio history bucket, in ms, and how many buckets to keep. Defaults 2000 and 180 (six minutes; longer history is monitoring's `cache.hit_ratio`). */
  readonly historyIntervalMs?: number;
  readonly historyLength?: number;
  /** Input limits for the REST API and operations. Defaults 512 B and 512 KiB. */
  readonly maxKeyBytes?: number;
  readonly maxValueBytes?: number;
  /** This node's id on the bus. Default: random. */
  readonly nodeId?: string;
  /** Redis key prefix. Default `ph:cache:`. */
  readonly prefix?: string;
  /** With the system clock, read the time at most this often for freshness checks (ms; 0 = every read). Default 1. */
  readonly clockResolutionMs?: number;
}

export const MAX_TTL_MS = 10 * 365 * 24 * 3600 * 1000;

export interface ResolvedCacheOptions {
  readonly defaults: EntryOptions;
  readonly namespaces: Readonly<Record<string, NamespaceOptions>>;
  readonly l1MaxEntries: number;
  readonly l1MaxBytes: number;
  readonly l3MaxBytes: number;
  readonly l3MaxEntries: number;
  readonly l3FlushMs: number;
  readonly l3: boolean;
  readonly serializer: Serializer;
  readonly redisCommandTimeoutMs: number;
  readonly redisWriteTimeoutMs: number;
  readonly breakerResetMs: number;
  readonly leaseMs: number;
  readonly reconcileIntervalMs: number;
  readonly historyIntervalMs: number;
  readonly historyLength: number;
  readonly maxKeyBytes: number;
  readonly maxValueBytes: number;
  readonly nodeId: string;
  readonly prefix: string;
  readonly clockResolutionMs: number;
}

export function resolveCacheOptions(options: CacheOptions = {}): ResolvedCacheOptions {
  return {
    defaults: { ttl: 60_000, grace: 0, jitter: 0, ...options.defaults },
    namespaces: options.namespaces ?? {},
    l1MaxEntries: options.l1MaxEntries ?? 10_000,
    l1MaxBytes: options.l1MaxBytes ?? 64 * 1024 * 1024,
    l3MaxBytes: options.l3MaxBytes ?? 256 * 1024 * 1024,
    l3MaxEntries: options.l3MaxEntries ?? 1_000_000,
    l3FlushMs: options.l3FlushMs ?? 25,
    l3: options.l3 ?? true,
    serializer: options.serializer ?? jsonSerializer,
    redisCommandTimeoutMs: options.redisCommandTimeoutMs ?? 100,
    redisWriteTimeoutMs: options.redisWriteTimeoutMs ?? 1000,
    breakerResetMs: options.breakerResetMs ?? 1000,
    leaseMs: options.leaseMs ?? 10_000,
    reconcileIntervalMs: options.reconcileIntervalMs ?? 5000,
    historyIntervalMs: options.historyIntervalMs ?? 2000,
    historyLength: options.historyLength ?? 180,
    maxKeyBytes: options.maxKeyBytes ?? 512,
    maxValueBytes: options.maxValueBytes ?? 512 * 1024,
    nodeId: options.nodeId ?? Math.random().toString(36).slice(2, 10),
    prefix: options.prefix ?? 'ph:cache:',
    clockResolutionMs: options.clockResolutionMs ?? 1,
  };
}

const NAMESPACE = /^[A-Za-z0-9_.-]{1,64}$/;

export function assertNamespace(namespace: string): void {
  // `.` and `..` pass the pattern, but no standard HTTP client can send them as a path segment
  // (URL parsers resolve them, `%2E` spellings too), so a namespace so named could not be reached over REST.
  if (!NAMESPACE.test(namespace) || namespace === '.' || namespace === '..') {
    throw new PhError(
      'PH_CACHE_BAD_NAMESPACE',
      `Namespace ${JSON.stringify(namespace.slice(0, 80))} must be 1-64 letters, digits, '.', '_' or '-', and not '.' or '..'`,
      { field: 'namespace' },
    );
  }
}

export function assertKey(key: string, maxBytes: number): void {
  if (key.length === 0) throw new PhError('PH_INVALID_INPUT', 'The key must not be empty', { field: 'key' });
  // UTF-8 (Redis, SQLite, the wire) writes it as U+FFFD, so "x\uD800" and "x\uFFFD" would be one entry.
  if (!isWellFormed(key))
    throw new PhError('PH_INVALID_INPUT', 'The key holds a lone UTF-16 surrogate, which UTF-8 cannot carry', { field: 'key' });
  // A UTF-16 unit is at most 3 UTF-8 bytes: a short key needs no count (every read comes here).
  if (key.length * 3 > maxBytes && Buffer.byteLength(key, 'utf8') > maxBytes) {
    throw new PhError('PH_CACHE_KEY_TOO_LONG', `The key is longer than ${maxBytes} bytes`, { field: 'key' });
  }
}

/**
 * Tags are matched in Redis by their UTF-8 bytes (a tag drop reads each entry's tags there): a lone
 * surrogate, which UTF-8 writes as U+FFFD, would never match the tag it was written with.
 */
export function assertTags(tags: readonly string[]): void {
  for (const tag of tags) {
    if (!isWellFormed(tag))
      throw new PhError('PH_INVALID_INPUT', 'A tag holds a lone UTF-16 surrogate, which UTF-8 cannot carry', { field: 'tags' });
  }
}

/**
 * The grace an entry is written with: past ten years, as for the ttl, no tier could keep it (Redis
 * refuses the expiry, dates stop being dates), so it is refused as input rather than failing a tier.
 */
export function effectiveGrace(options: EntryOptions): number {
  const grace = options.grace ?? 0;
  if (!Number.isFinite(grace)) throw new PhError('PH_INVALID_INPUT', 'grace must be a number of milliseconds', { field: 'grace' });
  if (grace > MAX_TTL_MS) throw new PhError('PH_INVALID_INPUT', 'grace must be at most ten years', { field: 'grace' });
  return Math.max(0, grace);
}

/** The ttl an entry is written with: validated, capped, and jittered. */
export function effectiveTtl(options: EntryOptions, random: () => number = Math.random): number {
  const ttl = options.ttl ?? 60_000;
  if (!Number.isFinite(ttl) || ttl <= 0)
    throw new PhError('PH_INVALID_INPUT', 'ttl must be a positive number of milliseconds', { field: 'ttl' });
  if (ttl > MAX_TTL_MS) throw new PhError('PH_INVALID_INPUT', 'ttl must be at most ten years', { field: 'ttl' });
  const jitter = Math.min(Math.max(options.jitter ?? 0, 0), 1);
  if (jitter === 0) return ttl;
  return Math.max(1, Math.round(ttl * (1 + (random() * 2 - 1) * jitter)));
}
