import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The node's Prometheus registry. One per control plane (never prom-client's global one), so two
 * nodes in one test process keep separate numbers. Capabilities register their own metrics on
 * `registry`, named `pilothouse_<capability>_<what>_<unit>`.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly httpRequestDuration: Histogram<'method' | 'route' | 'status_code'>;
  readonly operationsTotal: Counter<'operation' | 'outcome'>;

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'pilothouse_' });
    this.httpRequestDuration = new Histogram({
      name: 'pilothouse_http_request_duration_seconds',
      help: 'Time to answer an HTTP request, by route template and status code',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [this.registry],
    });
    this.operationsTotal = new Counter({
      name: 'pilothouse_operations_total',
      help: 'Console operations completed, by operation and outcome',
      labelNames: ['operation', 'outcome'],
      registers: [this.registry],
    });
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
