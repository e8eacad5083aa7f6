import type { Metric, Registry } from 'prom-client';

/** One method + route + status code: counts per bucket (not cumulative), their sum and count. */
export class DurationChild {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly labels: Readonly<{ method: string; route: string; status_code: string }>,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  /** One request: a few comparisons and three additions, no label lookup (the child is bound once). */
  observe(seconds: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && seconds > (bounds[i] as number)) i += 1;
    this.counts[i] = (this.counts[i] as number) + 1;
    this.sum += seconds;
    this.count += 1;
  }
}

interface RenderedValue {
  metricName: string;
  labels: Record<string, string | number>;
  value: number;
}

/**
 * `pilothouse_http_request_duration_seconds{method,route,status_code}`: a Prometheus histogram
 * kept as plain bucket counts per label set and rendered when Prometheus scrapes. prom-client's own
 * Histogram validates and hashes the label set on every `observe`, even through a bound child,
 * which cost more than the rest of the per-request bookkeeping together; here the request path only
 * increments counters of a child it bound once.
 */
export class RequestDurations {
  readonly name = 'pilothouse_http_request_duration_seconds';
  readonly help = 'Time to answer an HTTP request, by route template and status code';
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #children = new Map<string, DurationChild>();

  constructor(
    readonly bounds: readonly number[],
    registry: Registry,
  ) {
    // prom-client renders any object with this shape (name, help, type, get); its `Metric` class
    // type also lists internals a scrape never calls.
    registry.registerMetric(this as unknown as Metric);
  }

  /** The child for a label set, made on first use; callers keep it and observe on it directly. */
  child(method: string, route: string, statusCode: number): DurationChild {
    const key = `${method} ${statusCode} ${route}`;
    let child = this.#children.get(key);
    if (child === undefined) {
      child = new DurationChild({ method, route, status_code: String(statusCode) }, this.bounds);
      this.#children.set(key, child);
    }
    return child;
  }

  /** What prom-client's registry asks for at scrape time: cumulative buckets, then sum and count. */
  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: RenderedValue[] }> {
    const values: RenderedValue[] = [];
    for (const child of this.#children.values()) {
      let cumulative = 0;
      for (let i = 0; i <= this.bounds.length; i += 1) {
        cumulative += child.counts[i] as number;
        values.push({
          metricName: `${this.name}_bucket`,
          labels: { ...child.labels, le: i < this.bounds.length ? (this.bounds[i] as number) : '+Inf' },
          value: cumulative,
        });
      }
      values.push({ metricName: `${this.name}_sum`, labels: { ...child.labels }, value: child.sum });
      values.push({ metricName: `${this.name}_count`, labels: { ...child.labels }, value: child.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** Zeroes every child in place: callers hold bound children, which must keep counting. */
  reset(): void {
    for (const child of this.#children.values()) {
      child.counts.fill(0);
      child.sum = 0;
      child.count = 0;
    }
  }
}
