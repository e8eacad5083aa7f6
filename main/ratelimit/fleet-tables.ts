import { Type } from '@sinclair/typebox';
import { RateTierSchema } from '../../contract/ops/ratelimit';
import { ReplicatedTable, type FleetTableDeps } from '../fleet';
import type { TierStore } from './tier-store';

const KeyTierValue = Type.Object({ tier: Type.String({ minLength: 1, maxLength: 40 }) }, { additionalProperties: false });

/** Tiers and the tier of each key, the same on every node (last edit wins per record; see docs/fleet.md). */
export function rateLimitTables(deps: FleetTableDeps, tiers: TierStore) {
  const common = { ...deps, logger: deps.logger.child({ component: 'fleet-tables' }) };
  const sources = tiers.replicaSources();
  return {
    tiers: new ReplicatedTable({ ...common, name: 'ratelimit-tiers', schema: RateTierSchema, source: sources.tiers }),
    keyTiers: new ReplicatedTable({ ...common, name: 'ratelimit-key-tiers', schema: KeyTierValue, source: sources.keys }),
  };
}
