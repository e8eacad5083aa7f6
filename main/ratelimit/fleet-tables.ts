import type { Database } from 'better-sqlite3';
import type { Redis } from 'ioredis';
import { Type } from '@sinclair/typebox';
import { RateTierSchema } from '../../contract/ops/ratelimit';
import type { Clock } from '../clock';
import { ReplicatedTable, type FleetSeal, type RedisEpoch } from '../fleet';
import type { Logger } from '../logger';
import type { TierStore } from './tier-store';

export interface RateLimitTableDeps {
  readonly db: Database;
  readonly clock: Clock;
  readonly nodeId: string;
  readonly redis: Redis | null;
  readonly seal: FleetSeal | null;
  readonly logger: Logger;
  /** The node's Redis epoch watch: tables write their records back when Redis comes back empty. */
  readonly epoch?: Pick<RedisEpoch, 'onEmptied'> | null;
  readonly checkIntervalMs?: number;
}

const KeyTierValue = Type.Object({ tier: Type.String({ minLength: 1, maxLength: 40 }) }, { additionalProperties: false });

/** Tiers and the tier of each key, the same on every node (last edit wins per record; see docs/fleet.md). */
export function rateLimitTables(deps: RateLimitTableDeps, tiers: TierStore) {
  const common = { ...deps, logger: deps.logger.child({ component: 'fleet-tables' }) };
  const sources = tiers.replicaSources();
  return {
    tiers: new ReplicatedTable({ ...common, name: 'ratelimit-tiers', schema: RateTierSchema, source: sources.tiers }),
    keyTiers: new ReplicatedTable({ ...common, name: 'ratelimit-key-tiers', schema: KeyTierValue, source: sources.keys }),
  };
}
