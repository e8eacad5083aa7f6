/**
 * Invalidation sequence of one namespace: a read from L2 may install its reply into L1 only if no
 * invalidation of that key (or of the whole namespace, or of a tag) happened while it awaited Redis;
 * otherwise an old value read before another node's overwrite would sit in L1 after the invalidation
 * passed. Per-key marks are kept only while a read of that key is in flight, so the map stays small.
 */
export class ReadFence {
  #seq = 0;
  #bulkSeq = 0;
  readonly #keySeq = new Map<string, number>();
  readonly #readers = new Map<string, number>();

  /** Marks a read of `key` from L2 as begun; returns the sequence to compare with once it answers. */
  begin(key: string): number {
    this.#readers.set(key, (this.#readers.get(key) ?? 0) + 1);
    return this.#seq;
  }

  end(key: string): void {
    const left = (this.#readers.get(key) ?? 1) - 1;
    if (left > 0) {
      this.#readers.set(key, left);
      return;
    }
    this.#readers.delete(key);
    this.#keySeq.delete(key);
  }

  changedSince(key: string, began: number): boolean {
    return this.#bulkSeq > began || (this.#keySeq.get(key) ?? 0) > began;
  }

  /** Records an invalidation (or a newer local write) of keys that reads may be awaiting. */
  keys(keys: readonly string[]): void {
    if (this.#readers.size === 0) return;
    for (const key of keys) if (this.#readers.has(key)) this.#keySeq.set(key, ++this.#seq);
  }

  /** Records an invalidation of more than named keys (tags, the whole namespace): every read under way is fenced off. */
  all(): void {
    this.#bulkSeq = ++this.#seq;
  }
}
