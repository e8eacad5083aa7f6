import type { Metric, Registry } from 'prom-client';

type Labels = Readonly<Record<string, string>>;

/** One label set of a `BoundHistogram`: counts per bucket (not cumulative), their sum and count. */
export class HistogramChild {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly labels: Labels,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  /** One observation: a few comparisons and three additions, no label lookup (the child is bound once). */
  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > (bounds[i] as number)) i += 1;
    this.counts[i] = (this.counts[i] as number) + 1;
    this.sum += value;
    this.count += 1;
  }

  reset(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }
}

/** One label set of a `BoundCounter`. */
export class CounterChild {
  value = 0;

  constructor(readonly labels: Labels) {}

  inc(): void {
    this.value += 1;
  }

  reset(): void {
    this.value = 0;
  }
}

interface RenderedValue {
  metricName?: string;
  labels: Record<string, string | number>;
  value: number;
}

/**
 * A Prometheus metric kept as plain numbers per label set and rendered when Prometheus scrapes.
 * prom-client's own metrics validate and hash the label set on every `inc` or `observe`, even
 * through a bound child, which cost more than the rest of the per-request bookkeeping together;
 * here a hot path binds a child once, keeps it and only increments it.
 */
abstract class BoundMetric<C extends { readonly labels: Labels; reset(): void }> {
  readonly aggregator = 'sum';
  readonly #children = new Map<string, C>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'histogram',
    registry: Registry,
  ) {
    // prom-client renders any object with this shape (name, help, type, get); its `Metric` class
    // type also lists internals a scrape never calls.
    registry.registerMetric(this as unknown as Metric);
  }

  /** The child for a label set, made on first use; callers keep it and count on it directly. */
  child(labels: Labels): C {
    const key = JSON.stringify(Object.values(labels));
    let child = this.#children.get(key);
    if (child === undefined) {
      child = this.create(labels);
      this.#children.set(key, child);
    }
    return child;
  }

  protected abstract create(labels: Labels): C;
  protected abstract render(child: C, values: RenderedValue[]): void;

  /** What prom-client's registry asks for at scrape time. */
  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: RenderedValue[] }> {
    const values: RenderedValue[] = [];
    for (const child of this.#children.values()) this.render(child, values);
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** Zeroes every child in place: callers hold bound children, which must keep counting. */
  reset(): void {
    for (const child of this.#children.values()) child.reset();
  }
}

/** A histogram: cumulative buckets, then sum and count, per label set, as prom-client renders one. */
export class BoundHistogram extends BoundMetric<HistogramChild> {
  constructor(
    name: string,
    help: string,
    readonly bounds: readonly number[],
    registry: Registry,
    /** Where `le` goes among a bucket's labels: first as prom-client writes it, or last; each metric keeps the text it always had. */
    private readonly lePosition: 'first' | 'last',
  ) {
    super(name, help, 'histogram', registry);
  }

  protected create(labels: Labels): HistogramChild {
    return new HistogramChild(labels, this.bounds);
  }

  protected render(child: HistogramChild, values: RenderedValue[]): void {
    let cumulative = 0;
    for (let i = 0; i <= this.bounds.length; i += 1) {
      cumulative += child.counts[i] as number;
      const le = i < this.bounds.length ? (this.bounds[i] as number) : '+Inf';
      const labels = this.lePosition === 'first' ? { le, ...child.labels } : { ...child.labels, le };
      values.push({ metricName: `${this.name}_bucket`, labels, value: cumulative });
    }
    values.push({ metricName: `${this.name}_sum`, labels: { ...child.labels }, value: child.sum });
    values.push({ metricName: `${this.name}_count`, labels: { ...child.labels }, value: child.count });
  }
}

/** A counter: one value per label set. */
export class BoundCounter extends BoundMetric<CounterChild> {
  constructor(name: string, help: string, registry: Registry) {
    super(name, help, 'counter', registry);
  }

  protected create(labels: Labels): CounterChild {
    return new CounterChild(labels);
  }

  protected render(child: CounterChild, values: RenderedValue[]): void {
    values.push({ labels: { ...child.labels }, value: child.value });
  }
}
