import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { RequestDurations } from './request-durations';

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
  readonly httpRequestDuration: RequestDurations;
  readonly operationsTotal: Counter<'operation' | 'outcome'>;
  readonly operationDuration: Histogram<'operation'>;
  readonly slowCallsTotal: Counter<'name'>;

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'pilothouse_' });
    for (const name of NON_CONVENTIONAL_DEFAULTS) this.registry.removeSingleMetric(`pilothouse_${name}`);
    this.httpRequestDuration = new RequestDurations(DURATION_BUCKETS_SECONDS, this.registry);
    this.operationsTotal = new Counter({
      name: 'pilothouse_operations_total',
      help: 'Console operations completed, by operation and outcome',
      labelNames: ['operation', 'outcome'],
      registers: [this.registry],
    });
    this.operationDuration = new Histogram({
      name: 'pilothouse_operation_duration_seconds',
      help: 'Time a console operation took, from validated input to result or error',
      labelNames: ['operation'],
      buckets: DURATION_BUCKETS_SECONDS,
      registers: [this.registry],
    });
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
