import { Type } from '@sinclair/typebox';
import { defineOperation } from '../operation';

const Namespace = Type.String({
  minLength: 1,
  maxLength: 64,
  pattern: '^[A-Za-z0-9_.-]+$',
  description: "1-64 letters, digits, '_', '.' or '-'; not '.' or '..'",
});
const Key = Type.String({ minLength: 1, maxLength: 512 });
/** One limit for writing a tag and invalidating by it: a tag that can be written can be invalidated. */
const Tag = Type.String({ minLength: 1, maxLength: 512 });

/**
 * The tiers an answer could not read, one shape for the key listing and for what is built on it
 * (invalidateMatching), so a client reads both the same way; `scope` and `consequence` say what
 * the missing tier cost that answer.
 */
function UnreadTiers(scope: string, consequence: string) {
  return Type.Array(Type.Literal('l2'), {
    description: `Tiers that could not be read ${scope} (l2: Redis down, its breaker open or its SCAN failed): keys held only there ${consequence}. Empty when every configured tier answered`,
  });
}

export const CacheCountersSchema = Type.Object({
  l1Hits: Type.Integer(),
  l2Hits: Type.Integer(),
  l3Hits: Type.Integer(),
  misses: Type.Integer(),
  staleServes: Type.Integer(),
  loaderCalls: Type.Integer(),
  loaderErrors: Type.Integer(),
  loaderTimeouts: Type.Integer(),
  sets: Type.Integer(),
  deletes: Type.Integer(),
  earlyRefreshes: Type.Integer(),
  l1Evictions: Type.Integer(),
  l2Errors: Type.Integer(),
});

export const CacheLatencySchema = Type.Object({
  count: Type.Integer(),
  p50: Type.Number(),
  p90: Type.Number(),
  p99: Type.Number(),
  max: Type.Number(),
});

export const CacheRedisStateSchema = Type.Object({
  configured: Type.Boolean(),
  state: Type.Union(['not-configured', 'connecting', 'up', 'breaker-open', 'down', 'stopped'].map((s) => Type.Literal(s))),
  breakerOpens: Type.Integer(),
  failures: Type.Integer(),
  outbox: Type.Integer(),
  busMessages: Type.Integer(),
  resyncs: Type.Integer(),
});

export const CacheHistoryPointSchema = Type.Object({
  at: Type.String({ format: 'date-time' }),
  l1Hits: Type.Integer(),
  l2Hits: Type.Integer(),
  l3Hits: Type.Integer(),
  misses: Type.Integer(),
  staleServes: Type.Integer(),
  hitRatio: Type.Union([Type.Number(), Type.Null()]),
  namespaces: Type.Record(Type.String(), Type.Union([Type.Number(), Type.Null()])),
});

export const CacheNamespaceStatsSchema = Type.Object({
  name: Type.String(),
  counters: CacheCountersSchema,
  hitRatio: Type.Union([Type.Number(), Type.Null()]),
  l1Entries: Type.Integer(),
  l1Bytes: Type.Integer(),
  l1MaxEntries: Type.Integer(),
  l1MaxBytes: Type.Integer(),
  latency: Type.Object({ l1: CacheLatencySchema, l2: CacheLatencySchema, l3: CacheLatencySchema, loader: CacheLatencySchema }),
});

export const CacheStatsSchema = Type.Object({
  nodeId: Type.String(),
  at: Type.String({ format: 'date-time' }),
  redis: CacheRedisStateSchema,
  totals: Type.Object({ counters: CacheCountersSchema, hitRatio: Type.Union([Type.Number(), Type.Null()]) }),
  l3: Type.Object({ enabled: Type.Boolean(), entries: Type.Integer(), bytes: Type.Integer(), maxBytes: Type.Integer() }),
  namespaces: Type.Array(CacheNamespaceStatsSchema),
  history: Type.Array(CacheHistoryPointSchema),
  hottest: Type.Array(Type.Object({ namespace: Type.String(), key: Type.String(), samples: Type.Integer() })),
  largest: Type.Array(Type.Object({ namespace: Type.String(), key: Type.String(), size: Type.Integer() })),
  recommendations: Type.Array(Type.String()),
  warmups: Type.Array(Type.String(), { description: 'The namespaces with a warm-up list on this node: what cache.warm can run here' }),
  keysHidden: Type.Boolean({
    description: 'True when hottest and largest are left empty: key names are for operators (a viewer, and the periodic event)',
  }),
});

const TierViewSchema = Type.Union([
  Type.Object({
    size: Type.Integer(),
    freshUntil: Type.Number(),
    staleUntil: Type.Number(),
    createdAt: Type.Number(),
    tags: Type.Array(Type.String()),
    fresh: Type.Boolean(),
  }),
  Type.Null(),
]);

export const CacheInvalidatedSchema = Type.Object({
  namespace: Type.String(),
  keys: Type.Optional(Type.Array(Type.String())),
  tags: Type.Optional(Type.Array(Type.String())),
  all: Type.Optional(Type.Boolean()),
  origin: Type.Union([Type.Literal('local'), Type.Literal('bus'), Type.Literal('resync')]),
});

/**
 * A key written through `cache.put` (on this node, or on another and heard over the bus): copies a
 * client holds of it (the typed client's local L1) are no longer current. Not raised for the
 * cache's own fills (loaders, warm-ups), which change no value a client could hold.
 */
export const CacheWrittenSchema = Type.Object({
  namespace: Type.String(),
  keys: Type.Array(Type.String()),
  origin: Type.Union([Type.Literal('local'), Type.Literal('bus')]),
});

/** What any capability publishes on the event bus to have the cache drop something. */
export const CacheInvalidateRequestSchema = Type.Object({
  namespace: Namespace,
  keys: Type.Optional(Type.Array(Key, { maxItems: 1000 })),
  tags: Type.Optional(Type.Array(Tag, { maxItems: 100 })),
  all: Type.Optional(Type.Boolean()),
});

export const CacheWarmProgressSchema = Type.Object({
  namespace: Type.String(),
  total: Type.Integer(),
  done: Type.Integer(),
  fromCache: Type.Integer(),
  loaded: Type.Integer(),
  failed: Type.Integer(),
  finished: Type.Boolean(),
});

/**
 * The REST API's own namespace and key: the cache checks them itself (PH_CACHE_BAD_NAMESPACE,
 * PH_CACHE_KEY_TOO_LONG counted in bytes), so a LAN program sees those codes rather than a schema error.
 */
const ApiNamespace = Type.String({ minLength: 1, description: "1-64 letters, digits, ., _ or -; not '.' or '..'" });
const ApiKey = Type.String({ minLength: 1, description: 'At most 512 bytes' });
/** Ten years at most: past that no tier can keep an expiry (see MAX_TTL_MS in main/cache/options.ts). */
const Milliseconds = Type.Number({ minimum: 0, maximum: 315_360_000_000, description: 'Milliseconds' });
/** A time to live: an entry written to expire at once is refused, here as where it is checked (main/cache/options.ts). */
const Ttl = Type.Number({ exclusiveMinimum: 0, maximum: 315_360_000_000, description: 'Milliseconds, more than 0' });

export const cacheOperations = {
  'cache.get': defineOperation({
    summary:
      'Read a value through the tiers (L1 → L2 → L3); PH_CACHE_MISS when no fresh value is held, unless a tier failed and a stale one within grace is served (stale: true)',
    input: Type.Object({ namespace: ApiNamespace, key: ApiKey }),
    output: Type.Object({
      namespace: Type.String(),
      key: Type.String(),
      value: Type.Unknown(),
      stale: Type.Optional(
        Type.Boolean({
          description:
            'true when the value is past its ttl, served within its grace because a tier (Redis) failed; absent for a fresh value',
        }),
      ),
    }),
    minRole: 'operator',
    mutating: false,
  }),
  'cache.put': defineOperation({
    summary: 'Write a value through every tier, with its time to live, grace and tags',
    input: Type.Object({
      namespace: ApiNamespace,
      key: ApiKey,
      value: Type.Unknown({ description: 'Any JSON value' }),
      ttl: Type.Optional(Ttl),
      grace: Type.Optional(Milliseconds),
      tags: Type.Optional(Type.Array(Tag, { maxItems: 100 })),
    }),
    output: Type.Object({ namespace: Type.String(), key: Type.String() }),
    minRole: 'operator',
    mutating: true,
    audit: 'counted',
  }),
  'cache.delete': defineOperation({
    summary: 'Drop one key on every node',
    input: Type.Object({ namespace: ApiNamespace, key: ApiKey }),
    output: Type.Object({ removed: Type.Integer() }),
    minRole: 'operator',
    mutating: true,
    audit: 'counted',
  }),
  'cache.stats': defineOperation({
    summary: 'Hits, misses, stale serves, loader calls and latency per tier and namespace; history, top keys, Redis state, advice',
    input: Type.Object({}),
    output: CacheStatsSchema,
    minRole: 'viewer',
    mutating: false,
  }),
  'cache.keys': defineOperation({
    summary:
      'Keys of a namespace held on this node (L1 and L3) and in Redis, in key order, by prefix or * pattern and tier, a page at a time',
    input: Type.Object({
      namespace: Namespace,
      prefix: Type.Optional(Type.String({ maxLength: 512 })),
      pattern: Type.Optional(
        Type.String({ minLength: 1, maxLength: 512, description: 'Keys matching it, where * stands for any run of characters' }),
      ),
      tier: Type.Optional(
        Type.Union([Type.Literal('l1'), Type.Literal('l2'), Type.Literal('l3')], { description: 'Only keys held in this tier' }),
      ),
      cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: "The previous page's nextCursor" })),
      limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    }),
    output: Type.Object({
      keys: Type.Array(
        Type.Object({
          key: Type.String(),
          tiers: Type.Array(Type.Union([Type.Literal('l1'), Type.Literal('l2'), Type.Literal('l3')])),
          size: Type.Integer(),
          expiresAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
          tags: Type.Array(Type.String()),
        }),
      ),
      total: Type.Integer({ description: 'Every key the filters match, across the tiers, on every page' }),
      nextCursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as cursor for the next page; null on the last' }),
      unavailable: UnreadTiers('for this page', 'are missing from keys and total'),
    }),
    minRole: 'operator',
    mutating: false,
  }),
  'cache.inspect': defineOperation({
    summary: 'One key in each tier, with a preview of its value',
    input: Type.Object({ namespace: Namespace, key: Key }),
    output: Type.Object({
      namespace: Type.String(),
      key: Type.String(),
      tiers: Type.Object({ l1: TierViewSchema, l2: TierViewSchema, l3: TierViewSchema }),
      preview: Type.Union([Type.String(), Type.Null()]),
      value: Type.Optional(Type.Unknown({ description: 'The value itself, when its JSON is at most 256 KiB (for a tree view)' })),
    }),
    minRole: 'operator',
    mutating: false,
  }),
  'cache.invalidate': defineOperation({
    summary: 'Drop keys or tagged entries of one namespace on every node',
    input: Type.Object({
      namespace: Namespace,
      keys: Type.Optional(Type.Array(Key, { maxItems: 1000 })),
      tags: Type.Optional(Type.Array(Tag, { maxItems: 100 })),
    }),
    output: Type.Object({ removed: Type.Integer() }),
    minRole: 'operator',
    mutating: true,
    audit: 'counted',
  }),
  'cache.invalidateMatching': defineOperation({
    summary: 'Drop every key of one namespace matching a * pattern, on every node (cache.keys with the pattern counts them first)',
    input: Type.Object(
      {
        namespace: Namespace,
        pattern: Type.String({ minLength: 1, maxLength: 512, description: 'Keys matching it, where * stands for any run of characters' }),
      },
      { additionalProperties: false },
    ),
    output: Type.Object({
      matched: Type.Integer(),
      removed: Type.Integer(),
      unavailable: UnreadTiers('while matching', 'were neither counted in matched nor dropped; call again once Redis answers to drop them'),
    }),
    minRole: 'operator',
    mutating: true,
    audit: 'each',
  }),
  'cache.clear': defineOperation({
    summary: 'Clear one namespace on every node (other namespaces are untouched), or every namespace',
    input: Type.Object({ namespace: Type.Optional(Namespace), everything: Type.Optional(Type.Boolean()) }),
    output: Type.Object({ removed: Type.Integer(), namespaces: Type.Array(Type.String()) }),
    minRole: 'operator',
    mutating: true,
    audit: 'each',
  }),
  'cache.warm': defineOperation({
    summary: 'Run the warm-up list of a namespace (or all); progress arrives as cache.warm.progress events',
    input: Type.Object({ namespace: Type.Optional(Namespace) }),
    output: Type.Object({ results: Type.Array(CacheWarmProgressSchema) }),
    minRole: 'operator',
    mutating: true,
    audit: 'each',
  }),
} as const;
