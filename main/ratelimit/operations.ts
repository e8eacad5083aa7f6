import type { Static } from '@sinclair/typebox';
import type { KeyTierSchema } from '../../contract/ops/ratelimit';
import type { HandlersFor } from '../ops';
import type { ApiKeyStore } from '../security';
import type { RateLimits } from './limiter';
import type { TierStore } from './tier-store';

type RateLimitOps = 'ratelimit.tiers' | 'ratelimit.tiers.save' | 'ratelimit.tiers.delete' | 'ratelimit.keys.assign';
type KeyTier = Static<typeof KeyTierSchema>;

export interface RateLimitHandlerDeps {
  readonly tiers: TierStore;
  readonly limits: RateLimits;
  readonly keys: ApiKeyStore;
  /** Refused requests per key over the last day (monitoring's usage history). */
  readonly refusedByKey: () => Map<string, number>;
}

export function ratelimitHandlers(deps: RateLimitHandlerDeps): HandlersFor<RateLimitOps> {
  const { tiers, limits, keys } = deps;
  const keyTier = async (id: string, refused: Map<string, number>): Promise<KeyTier> => {
    const key = keys.get(id);
    const tier = tiers.tierFor(key.id, key.role);
    const { used, resetSeconds } = await limits.peek(`key:${key.id}`, tier);
    return {
      keyId: key.id,
      name: key.name,
      role: key.role,
      tier: tier.name,
      assigned: tiers.assignedTier(key.id) !== null,
      used,
      limit: tier.limit,
      resetSeconds,
      refusedLastDay: refused.get(key.id) ?? 0,
    };
  };
  return {
    'ratelimit.tiers': async () => {
      const refused = deps.refusedByKey();
      const list = await Promise.all(keys.list().map((k) => keyTier(k.id, refused)));
      return { tiers: tiers.list(), keys: list, backend: limits.backend() };
    },
    'ratelimit.tiers.save': (input) => ({ tier: tiers.save(input.tier) }),
    'ratelimit.tiers.delete': (input) => tiers.remove(input.name),
    'ratelimit.keys.assign': async (input) => {
      keys.get(input.id);
      tiers.assign(input.id, input.tier);
      return { key: await keyTier(input.id, deps.refusedByKey()) };
    },
  };
}
