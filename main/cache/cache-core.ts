import type { Clock } from '../clock';
import type { Logger } from '../logger';
import type { HotKeys } from './cache-stats';
import type { InvalidationBus } from './invalidation-bus';
import type { RedisTier } from './redis-tier';
import type { Serializer } from './serializer';
import type { SqliteTier } from './sqlite-tier';

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

export interface L1Entry {
  value: unknown;
  freshUntil: number;
  staleUntil: number;
  createdAt: number;
  tags: readonly string[];
  size: number;
  /** The settled promise handed to callers on a hit, made once per entry rather than per call. */
  resolved: Promise<unknown> | undefined;
}
