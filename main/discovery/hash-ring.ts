/**
 * A consistent-hash ring (Karger et al.) with virtual nodes. Hand-written because no maintained npm
 * package does this with the one property we test for, cheaply: removing a node moves only the keys
 * that node held. Each node puts `pointsPerWeight × weight` points on a 32-bit ring; a key goes to
 * the first point at or after its hash. Hashing is FNV-1a with MurmurHash3's finalizer so that
 * similar ids ("api-1", "api-2") still scatter evenly.
 */
export class HashRing<T extends { id: string; weight: number }> {
  readonly #points: Uint32Array;
  readonly #owners: T[];

  constructor(nodes: readonly T[], pointsPerWeight = 100) {
    const entries: { hash: number; node: T }[] = [];
    for (const node of nodes) {
      const points = pointsPerWeight * Math.max(1, Math.min(node.weight, 10));
      for (let i = 0; i < points; i += 1) entries.push({ hash: hash32(`${node.id}#${i}`), node });
    }
    // Ties broken by id so the ring is the same whatever order the nodes came in.
    entries.sort((a, b) => a.hash - b.hash || (a.node.id < b.node.id ? -1 : a.node.id > b.node.id ? 1 : 0));
    this.#points = Uint32Array.from(entries, (e) => e.hash);
    this.#owners = entries.map((e) => e.node);
  }

  get size(): number {
    return this.#owners.length;
  }

  /** The node that owns `key`, or undefined on an empty ring. */
  get(key: string): T | undefined {
    const n = this.#points.length;
    if (n === 0) return undefined;
    const h = hash32(key);
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.#points[mid] as number) < h) lo = mid + 1;
      else hi = mid;
    }
    return this.#owners[lo === n ? 0 : lo];
  }
}

export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
