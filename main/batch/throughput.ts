/** Completed and failed counts per type in fixed buckets over a sliding window, in memory. */
export class ThroughputMeter {
  readonly #buckets = new Map<string, Map<number, { completed: number; failed: number }>>();

  constructor(
    readonly bucketMs = 5_000,
    readonly windowBuckets = 60,
  ) {}

  record(type: string, outcome: 'completed' | 'failed', now: number): void {
    let perType = this.#buckets.get(type);
    if (perType === undefined) {
      perType = new Map();
      this.#buckets.set(type, perType);
    }
    const key = Math.floor(now / this.bucketMs);
    let bucket = perType.get(key);
    if (bucket === undefined) {
      bucket = { completed: 0, failed: 0 };
      perType.set(key, bucket);
      for (const old of perType.keys()) if (old <= key - this.windowBuckets) perType.delete(old);
    }
    bucket[outcome] += 1;
  }

  series(type: string, now: number): { at: string; completed: number; failed: number }[] {
    const perType = this.#buckets.get(type);
    const last = Math.floor(now / this.bucketMs);
    const out: { at: string; completed: number; failed: number }[] = [];
    for (let key = last - this.windowBuckets + 1; key <= last; key += 1) {
      const b = perType?.get(key);
      out.push({ at: new Date(key * this.bucketMs).toISOString(), completed: b?.completed ?? 0, failed: b?.failed ?? 0 });
    }
    return out;
  }
}
