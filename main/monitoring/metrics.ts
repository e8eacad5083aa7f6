import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { BoundCounter, BoundHistogram } from './bound-metrics';

/**
 * prom-client's default set names three gauges `*_total`, which Prometheus reserves for counters
 * (`promtool check metrics` rejects them). Their per-type siblings without the suffix stay, and a
 * sum over them gives the same total.
 */
const NON_CONVENTIONAL_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

export const DURATION_BUCKETS_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * The node's Prometheus registry. One per control plane (never prom-client's global one), so two
 * nodes in one test process keep separate numbers. Capabilities register their own metrics on
 * `registry`, named `pilothouse_<capability>_<what>_<unit>` (base units: seconds, bytes, ratio;
 * `_total` only on counters), or through `gauge()` for values read at scrape time.
 */
export class Metrics {
  readonly registry = new Registry();
  /** Labels `method`, `route`, `status_code`. */
  readonly httpRequestDuration: BoundHistogram;
  /** Labels `operation`, `outcome`. */
  readonly operationsTotal: BoundCounter;
  /** Label `operation`. */
  readonly operationDuration: BoundHistogram;
  readonly slowCallsTotal: Counter<'name'>;

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'pilothouse_' });
    for (const name of NON_CONVENTIONAL_DEFAULTS) this.registry.removeSingleMetric(`pilothouse_${name}`);
    // Counted on every request and operation: bound once per label set, rendered at scrape (bound-metrics.ts).
    this.httpRequestDuration = new BoundHistogram(
      'pilothouse_http_request_duration_seconds',
      'Time to answer an HTTP request, by route template and status code',
      DURATION_BUCKETS_SECONDS,
      this.registry,
      'last',
    );
    this.operationsTotal = new BoundCounter(
      'pilothouse_operations_total',
      'Console operations completed, by operation and outcome',
      this.registry,
    );
    this.operationDuration = new BoundHistogram(
      'pilothouse_operation_duration_seconds',
      'Time a console operation took, from validated input to result or error',
      DURATION_BUCKETS_SECONDS,
      this.registry,
      'first',
    );
    this.slowCallsTotal = new Counter({
      name: 'pilothouse_slow_calls_total',
      help: 'Calls slower than their slow-call threshold, by operation or route',
      labelNames: ['name'],
      registers: [this.registry],
    });
  }

  /**
   * A gauge whose values are read when Prometheus scrapes: `read` returns one value per label set.
   * Use it for state that lives elsewhere (queue depth, connected clients, dependency up/down).
   */
  gauge<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    read: () => Iterable<[Partial<Record<L, string>>, number]> | Promise<Iterable<[Partial<Record<L, string>>, number]>>,
  ): Gauge<L> {
    return new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const [labels, value] of await read()) if (Number.isFinite(value)) this.set(labels, value);
      },
    });
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
