export type Tier = 'l1' | 'l2' | 'l3';

export interface KeyListing {
  key: string;
  tiers: Tier[];
  size: number;
  expiresAt: string | null;
  tags: string[];
}

/** Which keys of a namespace: all conditions given must hold. */
export interface KeyFilter {
  /** Keys starting with it (literal). */
  readonly prefix?: string;
  /** Keys matching it, where `*` stands for any run of characters and everything else is literal. */
  readonly pattern?: string;
  readonly tier?: Tier;
}

export interface KeyQuery extends KeyFilter {
  /** The last key of the previous page: this page starts after it. */
  readonly cursor?: string;
  readonly limit: number;
}

export interface KeyPage {
  keys: KeyListing[];
  total: number;
  nextCursor: string | null;
  /** Tiers configured but not read (Redis down, its breaker open, its SCAN failed): their keys are missing. */
  unavailable: 'l2'[];
}

/** Every key a filter matches, in key order. */
export interface KeyMatch {
  keys: string[];
  /** As in KeyPage: tiers configured but not read, whose keys are missing. */
  unavailable: 'l2'[];
}

interface EntryFacts {
  size: number;
  freshUntil: number;
  tags: readonly string[];
}

/** Where the listing reads each tier; a tier that is not configured is null. */
export interface KeySources {
  /** This node's live L1 entries of the namespace. */
  readonly l1: Iterable<[string, EntryFacts]>;
  readonly l3: {
    keyNames(prefix: string): string[];
    entries(keys: readonly string[]): (EntryFacts & { key: string })[];
  } | null;
  readonly l2: {
    /** False when Redis is known to be away (disconnected, breaker open): it is then not asked. */
    available(): boolean;
    keyNames(prefix: string): Promise<string[]>;
  } | null;
}

function matcher(query: KeyFilter): { prefix: string; test: (key: string) => boolean } {
  const prefix = query.prefix ?? '';
  if (query.pattern === undefined) return { prefix, test: (key) => key.startsWith(prefix) };
  const parts = query.pattern.split('*');
  const matches = globMatcher(parts);
  const literal = parts[0] as string;
  // The range read is by the longer of the two literal prefixes; both must hold.
  return { prefix: literal.length > prefix.length ? literal : prefix, test: (key) => key.startsWith(prefix) && matches(key) };
}

/**
 * Whether a key matches a pattern whose only wildcard is `*`, given as the literal parts between
 * the stars. Hand-written, not a RegExp: `*a*a*a*b` compiled to `.*a.*a.*a.*b` backtracks
 * exponentially on a long run of `a` (a caller could hold the event loop for seconds). With `*` the
 * only wildcard, taking each middle part at its first place after the last is always right, so a
 * key costs one left-to-right scan.
 */
function globMatcher(parts: readonly string[]): (key: string) => boolean {
  const first = parts[0] as string;
  if (parts.length === 1) return (key) => key === first;
  const last = parts[parts.length - 1] as string;
  const middle = parts.slice(1, -1).filter((part) => part !== '');
  return (key) => {
    if (key.length < first.length + last.length || !key.startsWith(first) || !key.endsWith(last)) return false;
    const end = key.length - last.length;
    let at = first.length;
    for (const part of middle) {
      const found = key.indexOf(part, at);
      if (found === -1 || found + part.length > end) return false;
      at = found + part.length;
    }
    return true;
  };
}

/** The matching keys in order, with the tiers holding each and the facts of those in L1. */
interface Gathered extends KeyMatch {
  tiers: Map<string, Tier[]>;
  l1: Map<string, EntryFacts>;
}

/**
 * Every key name the filter matches across the tiers: L1 from memory, L3 by an index range on the
 * literal prefix, L2 by one SCAN walk. L2 out of reach (or failing mid-SCAN) leaves its keys out and
 * says so in `unavailable`, rather than failing or answering a shorter list as if it were whole.
 */
async function gather(sources: KeySources, filter: KeyFilter): Promise<Gathered> {
  const { prefix, test } = matcher(filter);
  const tiers = new Map<string, Tier[]>();
  const add = (key: string, tier: Tier) => {
    if (!test(key)) return;
    const held = tiers.get(key);
    if (held === undefined) tiers.set(key, [tier]);
    else held.push(tier);
  };
  const l1 = new Map<string, EntryFacts>();
  for (const [key, e] of sources.l1) {
    if (!test(key)) continue;
    l1.set(key, e);
    add(key, 'l1');
  }
  for (const key of sources.l3?.keyNames(prefix) ?? []) add(key, 'l3');
  const unavailable: 'l2'[] = [];
  const l2 = sources.l2;
  if (l2 !== null) {
    const names = l2.available() ? await l2.keyNames(prefix).catch(() => null) : null;
    if (names === null) unavailable.push('l2');
    else for (const key of names) add(key, 'l2');
  }

  const keys = [...tiers.keys()].filter((k) => filter.tier === undefined || (tiers.get(k) as Tier[]).includes(filter.tier));
  keys.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { keys, unavailable, tiers, l1 };
}

/**
 * Every key the filter matches, gathered once: for acting on all of them (cache.invalidateMatching),
 * where walking listKeys page by page would gather (and SCAN Redis) again for every page.
 */
export async function matchingKeys(sources: KeySources, filter: KeyFilter): Promise<KeyMatch> {
  const { keys, unavailable } = await gather(sources, filter);
  return { keys, unavailable };
}

/**
 * One page of a namespace's keys across the tiers, like Redis SCAN but in key order and with a true
 * count: every matching key name is gathered (see gather), so the total is the union's size, not a
 * page's; only the page's keys are then read in full. The cursor is the last key shown, so a page is
 * stable while keys come and go.
 */
export async function listKeys(sources: KeySources, query: KeyQuery): Promise<KeyPage> {
  const { keys: matching, unavailable, tiers, l1 } = await gather(sources, query);
  const after = query.cursor;
  const from = after === undefined ? 0 : firstAfter(matching, after);
  const pageKeys = matching.slice(from, from + query.limit);
  const l3Facts = new Map((sources.l3?.entries(pageKeys.filter((k) => !l1.has(k))) ?? []).map((e) => [e.key, e]));
  const keys = pageKeys.map((key): KeyListing => {
    const facts = l1.get(key) ?? l3Facts.get(key);
    return {
      key,
      tiers: tiers.get(key) as Tier[],
      size: facts?.size ?? 0,
      expiresAt: facts === undefined ? null : new Date(facts.freshUntil).toISOString(),
      tags: [...(facts?.tags ?? [])],
    };
  });
  const more = from + query.limit < matching.length;
  return { keys, total: matching.length, nextCursor: more ? (pageKeys[pageKeys.length - 1] ?? null) : null, unavailable };
}

/** The index of the first key greater than `after` in sorted `keys` (binary search). */
function firstAfter(keys: readonly string[], after: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((keys[mid] as string) <= after) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
