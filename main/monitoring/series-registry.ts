export interface MetricSeries {
  /** Dotted, lower case: `http.requests_per_second`, `cache.hit_ratio`, `jobs.backlog`. */
  readonly name: string;
  /** Shown beside the number: `req/s`, `ms`, `bytes`, `ratio`, `%`, `count`, `s`. */
  readonly unit: string;
  readonly help: string;
  /**
   * The value now, or null when there is none (no traffic, dependency not configured). Called once
   * per sampling tick, so a rate may keep its previous count in a closure.
   */
  read(): number | null;
}

/**
 * The named numbers that history samples and alert rules test. Monitoring registers the node's own
 * (HTTP, system, disk, Redis); capabilities register theirs (`cache.hit_ratio`, `jobs.backlog`,
 * `backup.overdue_seconds`, `realtime.connections`) when they land, through `register()`.
 */
export class SeriesRegistry {
  readonly #series = new Map<string, MetricSeries>();

  register(series: MetricSeries): () => void {
    this.#series.set(series.name, series);
    return () => {
      if (this.#series.get(series.name) === series) this.#series.delete(series.name);
    };
  }

  has(name: string): boolean {
    return this.#series.has(name);
  }

  get(name: string): MetricSeries | undefined {
    return this.#series.get(name);
  }

  list(): { name: string; unit: string; help: string }[] {
    return [...this.#series.values()].map(({ name, unit, help }) => ({ name, unit, help })).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Reads every series once; a reader that throws or returns a non-finite number gives null. */
  readAll(): Record<string, number | null> {
    const out: Record<string, number | null> = {};
    for (const series of this.#series.values()) {
      let value: number | null;
      try {
        value = series.read();
      } catch {
        value = null;
      }
      out[series.name] = value !== null && Number.isFinite(value) ? value : null;
    }
    return out;
  }
}
