import type { Database } from 'better-sqlite3';
import type { Static } from '@sinclair/typebox';
import { PhError } from '../../contract/errors';
import type { RateTierSchema } from '../../contract/ops/ratelimit';
import type { Role } from '../../contract/roles';

export type RateTier = Static<typeof RateTierSchema>;

interface TierRow {
  name: string;
  request_limit: number | null;
  window_seconds: number;
  burst: number;
  builtin: number;
}

/** The built-in tier without a limit: admin keys, and through them the console's session. */
export const UNLIMITED_TIER = 'unlimited';

/**
 * Keys with no tier of their own. An admin key is the operator's (the console's session); an operator
 * key is usually a LAN program leaning on the cache and queue, so it starts on `premium` (100 a second)
 * rather than being throttled the day Pilothouse is upgraded; a viewer key (a dashboard) on `basic`.
 */
export const defaultTierFor = (role: Role): string => (role === 'admin' ? UNLIMITED_TIER : role === 'operator' ? 'premium' : 'basic');
/** Callers without a key (a desktop caller never reaches HTTP; these are anonymous requests) count per address on this tier. */
export const ANONYMOUS_TIER = 'free';

const toTier = (row: TierRow): RateTier => ({
  name: row.name,
  limit: row.request_limit,
  windowSeconds: row.window_seconds,
  burst: row.burst,
  builtin: row.builtin === 1,
});

/**
 * The tiers and which key is on which, cached in memory: a request looks its tier up in a map, and
 * every change here clears the cache.
 */
export class TierStore {
  #tiers: Map<string, RateTier> | null = null;
  #assigned: Map<string, string> | null = null;
  readonly #tierEdits = new Set<(name: string, tier: RateTier | null) => void>();
  readonly #keyEdits = new Set<(keyId: string, value: { tier: string } | null) => void>();

  constructor(private readonly db: Database) {}

  list(): RateTier[] {
    return [...this.#tierMap().values()];
  }

  get(name: string): RateTier {
    const tier = this.#tierMap().get(name);
    if (tier === undefined)
      throw new PhError('PH_RATELIMIT_TIER_NOT_FOUND', `There is no rate-limit tier named ${name}`, { field: 'tier' });
    return tier;
  }

  /** The tier a key is on: its own, or its role's default. */
  tierFor(keyId: string, role: Role): RateTier {
    const name = this.#assignedMap().get(keyId) ?? defaultTierFor(role);
    return this.#tierMap().get(name) ?? this.get(defaultTierFor(role));
  }

  assignedTier(keyId: string): string | null {
    return this.#assignedMap().get(keyId) ?? null;
  }

  save(tier: RateTier): RateTier {
    // Admin keys and the console's own session are on it: a limit there could lock the operator out of the console that lifts it.
    if (tier.name === UNLIMITED_TIER && tier.limit !== null)
      throw new PhError('PH_RATELIMIT_TIER_BUILTIN', `${UNLIMITED_TIER} keeps no limit; put keys on another tier to limit them`, {
        field: 'tier.limit',
      });
    this.db
      .prepare(
        `INSERT INTO ratelimit_tiers (name, request_limit, window_seconds, burst) VALUES (?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET request_limit = excluded.request_limit, window_seconds = excluded.window_seconds, burst = excluded.burst`,
      )
      .run(tier.name, tier.limit, tier.windowSeconds, tier.burst);
    this.#clear();
    const saved = this.get(tier.name);
    for (const listener of this.#tierEdits) listener(saved.name, saved);
    return saved;
  }

  remove(name: string): { deleted: boolean; keysMoved: number } {
    const tier = this.#tierMap().get(name);
    if (tier === undefined) return { deleted: false, keysMoved: 0 };
    if (tier.builtin === true)
      throw new PhError('PH_RATELIMIT_TIER_BUILTIN', `${name} is built in; change its numbers instead`, { field: 'name' });
    const moved = this.db.transaction(() => {
      const keys = (this.db.prepare('SELECT key_id FROM ratelimit_key_tiers WHERE tier = ?').all(name) as { key_id: string }[]).map(
        (r) => r.key_id,
      );
      this.db.prepare('DELETE FROM ratelimit_key_tiers WHERE tier = ?').run(name);
      this.db.prepare('DELETE FROM ratelimit_tiers WHERE name = ?').run(name);
      return keys;
    })();
    this.#clear();
    for (const listener of this.#tierEdits) listener(name, null);
    for (const keyId of moved) for (const listener of this.#keyEdits) listener(keyId, null);
    return { deleted: true, keysMoved: moved.length };
  }

  assign(keyId: string, tier: string | null): void {
    if (tier !== null) this.get(tier);
    this.#writeAssignment(keyId, tier);
    for (const listener of this.#keyEdits) listener(keyId, tier === null ? null : { tier });
  }

  /**
   * Tiers and key assignments as fleet-wide tables see them (`ReplicaSource` in main/fleet): every
   * node holds all of them; an edit here is reported, one that won on another node is applied here.
   */
  replicaSources() {
    return {
      tiers: {
        rows: (): Iterable<readonly [string, RateTier]> => this.list().map((t) => [t.name, t] as const),
        apply: (name: string, tier: RateTier | null): void => this.#writeTier(name, tier),
        onLocalChange: (listener: (name: string, tier: RateTier | null) => void): (() => void) => {
          this.#tierEdits.add(listener);
          return () => this.#tierEdits.delete(listener);
        },
      },
      keys: {
        rows: (): Iterable<readonly [string, { tier: string }]> =>
          [...this.#assignedMap()].map(([keyId, tier]) => [keyId, { tier }] as const),
        apply: (keyId: string, value: { tier: string } | null): void => this.#writeAssignment(keyId, value?.tier ?? null),
        onLocalChange: (listener: (keyId: string, value: { tier: string } | null) => void): (() => void) => {
          this.#keyEdits.add(listener);
          return () => this.#keyEdits.delete(listener);
        },
      },
    };
  }

  #writeTier(name: string, tier: RateTier | null): void {
    if (tier === null) this.db.prepare('DELETE FROM ratelimit_tiers WHERE name = ? AND builtin = 0').run(name);
    else
      this.db
        .prepare(
          `INSERT INTO ratelimit_tiers (name, request_limit, window_seconds, burst, builtin) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (name) DO UPDATE SET request_limit = excluded.request_limit, window_seconds = excluded.window_seconds, burst = excluded.burst`,
        )
        .run(name, tier.limit, tier.windowSeconds, tier.burst, tier.builtin === true ? 1 : 0);
    this.#clear();
  }

  /** A key's tier may name one this node has not heard of yet (the tables sync apart): the role default holds meanwhile. */
  #writeAssignment(keyId: string, tier: string | null): void {
    if (tier === null) this.db.prepare('DELETE FROM ratelimit_key_tiers WHERE key_id = ?').run(keyId);
    else {
      this.db
        .prepare('INSERT INTO ratelimit_key_tiers (key_id, tier) VALUES (?, ?) ON CONFLICT (key_id) DO UPDATE SET tier = excluded.tier')
        .run(keyId, tier);
    }
    this.#clear();
  }

  #tierMap(): Map<string, RateTier> {
    this.#tiers ??= new Map(
      (this.db.prepare('SELECT * FROM ratelimit_tiers ORDER BY request_limit IS NULL, request_limit, name').all() as TierRow[]).map((r) => [
        r.name,
        toTier(r),
      ]),
    );
    return this.#tiers;
  }

  #assignedMap(): Map<string, string> {
    this.#assigned ??= new Map(
      (this.db.prepare('SELECT key_id, tier FROM ratelimit_key_tiers').all() as { key_id: string; tier: string }[]).map((r) => [
        r.key_id,
        r.tier,
      ]),
    );
    return this.#assigned;
  }

  #clear(): void {
    this.#tiers = null;
    this.#assigned = null;
  }
}
