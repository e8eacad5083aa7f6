import { Type } from '@sinclair/typebox';
import { defineOperation } from '../operation';

const TierName = Type.String({
  minLength: 1,
  maxLength: 40,
  pattern: '^[a-z0-9][a-z0-9_-]*$',
  description: "1-40 lower-case letters, digits, '_' or '-', starting with a letter or digit",
});

/**
 * A rate-limit tier: `limit` requests per `windowSeconds` for each key, and `burst` extra requests
 * a key may draw on once a window's quota is spent (refilled over ten windows). `limit` null means
 * unlimited (the `unlimited` tier: the console's own session and the desktop).
 */
export const RateTierSchema = Type.Object({
  name: TierName,
  limit: Type.Union([Type.Integer({ minimum: 1, maximum: 10_000_000 }), Type.Null()], {
    description: 'A whole number of requests per window from 1 to 10,000,000, or null for no limit',
  }),
  windowSeconds: Type.Integer({ minimum: 1, maximum: 86_400 }),
  burst: Type.Integer({ minimum: 0, maximum: 10_000_000 }),
  builtin: Type.Optional(Type.Boolean()),
});

export const KeyTierSchema = Type.Object({
  keyId: Type.String(),
  name: Type.String(),
  role: Type.String(),
  tier: Type.String(),
  /** Whether the tier was set for this key or comes from the default for its role. */
  assigned: Type.Boolean(),
  /** Requests counted in the current window, and the tier's limit (null: unlimited). */
  used: Type.Integer(),
  limit: Type.Union([Type.Integer(), Type.Null()]),
  resetSeconds: Type.Integer(),
  /** Refused (429) requests over the last 24 hours. */
  refusedLastDay: Type.Integer(),
});

export const ratelimitOperations = {
  'ratelimit.tiers': defineOperation({
    summary: 'Rate-limit tiers, each key with its tier and its use of the current window, and where counts are kept',
    input: Type.Object({}),
    output: Type.Object({
      tiers: Type.Array(RateTierSchema),
      keys: Type.Array(KeyTierSchema),
      backend: Type.Union([Type.Literal('memory'), Type.Literal('redis'), Type.Literal('memory (Redis unreachable)')]),
    }),
    minRole: 'operator',
    mutating: false,
  }),
  'ratelimit.tiers.save': defineOperation({
    summary: 'Create or change a rate-limit tier',
    input: Type.Object({ tier: RateTierSchema }, { additionalProperties: false }),
    output: Type.Object({ tier: RateTierSchema }),
    minRole: 'admin',
    mutating: true,
    audit: 'each',
  }),
  'ratelimit.tiers.delete': defineOperation({
    summary: 'Delete a tier that is not built in; keys on it go back to their role default',
    input: Type.Object({ name: TierName }),
    output: Type.Object({ deleted: Type.Boolean(), keysMoved: Type.Integer() }),
    minRole: 'admin',
    mutating: true,
    audit: 'each',
  }),
  'ratelimit.keys.assign': defineOperation({
    summary: 'Put an API key on a tier (null: back to the default for its role)',
    input: Type.Object({ id: Type.String({ minLength: 1 }), tier: Type.Union([TierName, Type.Null()]) }),
    output: Type.Object({ key: KeyTierSchema }),
    minRole: 'admin',
    mutating: true,
    audit: 'each',
  }),
} as const;
