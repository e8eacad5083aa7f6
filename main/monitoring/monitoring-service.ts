import type { Database } from 'better-sqlite3';
import type { FastifyInstance } from 'fastify';
import { build, type Histogram } from 'hdr-histogram-js';
import type { Redis } from 'ioredis';
import type { Clock } from '../clock';
import type { OperationObserver } from '../core';
import type { EventBus } from '../events';
import type { Logger } from '../logger';
import type { Service, ServiceState } from '../service';
import { AlertEngine } from './alert-engine';
import { DependencyHealth, type HealthProbe } from './dependency-health';
import { instrumentHttp, type HttpObservation } from './http-instrumentation';
import { MetricHistory, type RetentionOptions } from './metric-history';
import type { Metrics } from './metrics';
import { OperationTimings, topBy, type TimingOptions } from './operation-timings';
import { diskProbe, redisProbe, sqliteProbe } from './probes';
import { recommend } from './recommendations';
import type { CounterChild, HistogramChild } from './bound-metrics';
import { SeriesRegistry, type MetricSeries } from './series-registry';
import { SystemSampler, type SystemSnapshot } from './system-sampler';
import { UsageRecorder } from './usage-recorder';

export interface MonitoringOptions {
  /** How often system metrics and every series are sampled into history and alerts judged. Default 10 s. */
  readonly sampleIntervalMs: number;
  /** How often dependency probes run. Default 5 s. */
  readonly healthIntervalMs: number;
  readonly timing: Partial<TimingOptions>;
  readonly retention: Partial<RetentionOptions>;
  /** How long usage per key, route and operation is kept. Default 90 days. */
  readonly usageRetentionMs?: number;
}

export const defaultMonitoringOptions: MonitoringOptions = { sampleIntervalMs: 10_000, healthIntervalMs: 5_000, timing: {}, retention: {} };

export interface MonitoringDeps {
  readonly db: Database;
  /** The node's shared client, or null when Redis is not configured. */
  readonly redis: Redis | null;
  readonly bus: EventBus;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly dataDir: string;
  readonly options?: Partial<MonitoringOptions>;
}

export interface Sample {
  at: string;
  values: Record<string, number | null>;
}

/** Route timings are named `http:<METHOD> <route>`; the prefix picks them all out. */
const HTTP_TIMING_PREFIX = 'http:';

const newIntervalHistogram = (): Histogram =>
  build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 2, autoResize: false });
/** Prune history and usage once every this many ticks (10 minutes at the default interval). */
const PRUNE_EVERY_TICKS = 60;
/** Below this many requests in an interval the HTTP error ratio is "no data", not 0% or 100%. */
const MIN_REQUESTS_FOR_RATIO = 10;

/** What a method + route is counted under: its timing and usage names, its Prometheus children by status. */
interface RouteNames {
  readonly timing: string;
  readonly usage: string;
  /** The Prometheus children by status code, bound on first use and kept. */
  readonly durations: Map<number, HistogramChild>;
}

/** What an operation is counted under: its timing name and its Prometheus children. */
interface OperationNames {
  readonly timing: string;
  ok: CounterChild | null;
  error: CounterChild | null;
  readonly duration: HistogramChild;
}

/**
 * Monitoring of the node: operation and route timings, system metrics, dependency health, alert
 * rules, metric history and API usage. Other capabilities plug in through its registries:
 * `health.register(probe)`, `series.register(series)` (history and alert rules read it),
 * `timings.time(name, fn)`, `metrics.registry` / `metrics.gauge()` for Prometheus, and
 * `addDisk(label, path)` for a folder whose free space matters (the backup repository).
 */
export class Monitoring implements Service {
  readonly name = 'monitoring';
  readonly options: MonitoringOptions;
  readonly timings: OperationTimings;
  readonly system: SystemSampler;
  readonly health: DependencyHealth;
  readonly series = new SeriesRegistry();
  readonly history: MetricHistory;
  readonly alerts: AlertEngine;
  readonly usage: UsageRecorder;
  readonly metrics: Metrics;

  #state: ServiceState = 'idle';
  #sampleTimer: NodeJS.Timeout | null = null;
  #healthTimer: NodeJS.Timeout | null = null;
  #ticks = 0;
  #latest: Sample | null = null;
  #lastTickAt = 0;
  /** HTTP traffic since the last tick, and what the last tick measured. */
  #http = { requests: 0, serverErrors: 0 };
  /** Every HTTP route timing so far (µs), as of the last tick: the next tick's latency is the growth since. */
  #httpTimingsAtTick: Histogram | null = null;
  #httpTick = { requestsPerSecond: 0, errorRatio: null as number | null, p50Ms: null as number | null, p95Ms: null as number | null };
  readonly #unsubscribe: (() => void)[] = [];
  readonly #routeNames = new Map<string, Map<string, RouteNames>>();
  readonly #opNames = new Map<string, OperationNames>();

  constructor(private readonly deps: MonitoringDeps) {
    this.options = { ...defaultMonitoringOptions, ...deps.options };
    this.metrics = deps.metrics;
    this.timings = new OperationTimings(deps.clock, this.options.timing);
    this.system = new SystemSampler(deps.clock);
    this.health = new DependencyHealth(deps.clock);
    this.history = new MetricHistory(deps.db, deps.clock, this.options.retention);
    this.alerts = new AlertEngine(deps.db, deps.clock);
    this.usage = new UsageRecorder(deps.db, deps.clock, this.options.usageRetentionMs);
    this.#registerOwnSeries();
    this.#registerPrometheus();
    this.health.register(sqliteProbe(deps.db, () => deps.clock.now()));
    if (deps.redis !== null) this.#registerRedis(deps.redis);
    this.addDisk('data', deps.dataDir);
  }

  /** Watch free space of the disk holding `path`: a probe, `disk.<label>.*` series and a Prometheus gauge. */
  addDisk(label: string, path: string): void {
    this.system.addDisk(label, path);
    this.health.register(diskProbe(label, path));
    const disk = () => this.system.last?.disks.find((d) => d.label === label) ?? null;
    this.series.register({
      name: `disk.${label}.used_ratio`,
      unit: 'ratio',
      help: `Share of the disk holding ${path} in use`,
      read: () => disk()?.usedRatio ?? null,
    });
    this.series.register({
      name: `disk.${label}.free_bytes`,
      unit: 'bytes',
      help: `Free bytes on the disk holding ${path}`,
      read: () => disk()?.freeBytes ?? null,
    });
  }

  /** For `OperationDispatcher`'s observer: every console operation is timed under `op:<name>`. */
  readonly observeOperation: OperationObserver = ({ name, durationMs, ok, code }) => {
    const names = this.#operationNames(name);
    this.timings.record(names.timing, durationMs, ok, code);
    // Each outcome's series appears once it happens, as prom-client's labelled counter did.
    const outcome = ok
      ? (names.ok ??= this.metrics.operationsTotal.child({ operation: name, outcome: 'ok' }))
      : (names.error ??= this.metrics.operationsTotal.child({ operation: name, outcome: 'error' }));
    outcome.inc();
    names.duration.observe(durationMs / 1000);
  };

  /** What an operation is counted under, bound once per operation rather than per call. */
  #operationNames(name: string): OperationNames {
    let names = this.#opNames.get(name);
    if (names === undefined) {
      names = { timing: `op:${name}`, ok: null, error: null, duration: this.metrics.operationDuration.child({ operation: name }) };
      this.#opNames.set(name, names);
    }
    return names;
  }

  observeHttp(o: HttpObservation): void {
    const serverError = o.statusCode >= 500;
    const names = this.#httpNames(o.method, o.route);
    let duration = names.durations.get(o.statusCode);
    if (duration === undefined) {
      duration = this.metrics.httpRequestDuration.child({ method: o.method, route: o.route, status_code: String(o.statusCode) });
      names.durations.set(o.statusCode, duration);
    }
    duration.observe(o.durationMs / 1000);
    const now = this.deps.clock.now();
    this.timings.record(names.timing, o.durationMs, !serverError, serverError ? String(o.statusCode) : undefined, now);
    this.usage.record(o.keyId, names.usage, o.statusCode >= 400, o.bytesIn, o.bytesOut, now, o.tier ?? null, o.statusCode === 429);
    this.#http.requests += 1;
    if (serverError) this.#http.serverErrors += 1;
  }

  /** The names a route is counted under, built once per method and route rather than per request. */
  #httpNames(method: string, route: string): RouteNames {
    let byMethod = this.#routeNames.get(route);
    if (byMethod === undefined) {
      byMethod = new Map();
      this.#routeNames.set(route, byMethod);
    }
    let names = byMethod.get(method);
    if (names === undefined) {
      names = { timing: `${HTTP_TIMING_PREFIX}${method} ${route}`, usage: `${method} ${route}`, durations: new Map() };
      byMethod.set(method, names);
    }
    return names;
  }

  /**
   * Hooks every route of the embedded server (call before it starts): one `onResponse` hook feeds the
   * Prometheus request histogram, the route timings, the usage per key and the interval latency.
   */
  instrument(app: FastifyInstance): void {
    instrumentHttp(app, (o) => this.observeHttp(o));
  }

  async start(): Promise<void> {
    this.#state = 'starting';
    this.system.start();
    this.#lastTickAt = this.deps.clock.now();
    this.#unsubscribe.push(
      this.alerts.onTransition((alert) => this.deps.bus.publish('monitoring.alert', alert)),
      this.health.onChange((status) => this.deps.bus.publish('monitoring.dependency', status)),
      this.timings.onSlowCall((call) => this.metrics.slowCallsTotal.inc({ name: call.name })),
    );
    await this.health.checkAll();
    this.#sampleTimer = setInterval(
      () => void this.tick().catch((err: unknown) => this.deps.logger.warn({ err }, 'monitoring tick failed')),
      this.options.sampleIntervalMs,
    );
    this.#sampleTimer.unref();
    this.#healthTimer = setInterval(() => void this.health.checkAll(), this.options.healthIntervalMs);
    this.#healthTimer.unref();
    this.#state = 'running';
  }

  async stop(): Promise<void> {
    if (this.#state === 'stopped' || this.#state === 'idle') return;
    this.#state = 'stopping';
    if (this.#sampleTimer !== null) clearInterval(this.#sampleTimer);
    if (this.#healthTimer !== null) clearInterval(this.#healthTimer);
    this.#sampleTimer = null;
    this.#healthTimer = null;
    for (const off of this.#unsubscribe.splice(0)) off();
    try {
      this.usage.flush();
    } catch (err) {
      this.deps.logger.warn({ err }, 'usage could not be flushed at stop');
    }
    this.system.stop();
    this.#httpTimingsAtTick?.destroy();
    this.#httpTimingsAtTick = null;
    this.#state = 'stopped';
  }

  status(): { state: ServiceState; detail?: string } {
    if (this.#state !== 'running') return { state: this.#state };
    const bad = this.health.list().filter((d) => d.status === 'down' || d.status === 'degraded');
    if (bad.length === 0) return { state: 'running' };
    return { state: 'degraded', detail: bad.map((d) => `${d.name} ${d.status} since ${d.since}`).join('; ') };
  }

  /**
   * One sampling round: system metrics, every series into history, roll-ups (and pruning now and
   * then), alert rules judged, usage flushed, and the sample published for live charts.
   */
  async tick(): Promise<Sample> {
    const now = this.deps.clock.now();
    const seconds = Math.max(0.001, (now - this.#lastTickAt) / 1000);
    this.#lastTickAt = now;
    const http = this.#http;
    this.#http = { requests: 0, serverErrors: 0 };
    const latency = this.#httpIntervalLatency();
    this.#httpTick = {
      requestsPerSecond: http.requests / seconds,
      errorRatio: http.requests >= MIN_REQUESTS_FOR_RATIO ? http.serverErrors / http.requests : null,
      p50Ms: latency.totalCount === 0 ? null : latency.getValueAtPercentile(50) / 1000,
      p95Ms: latency.totalCount === 0 ? null : latency.getValueAtPercentile(95) / 1000,
    };
    latency.destroy();
    this.system.sample();
    const values = this.series.readAll();
    this.history.write(now, values);
    this.history.rollUp(now);
    this.#ticks += 1;
    if (this.#ticks % PRUNE_EVERY_TICKS === 0) {
      this.history.prune(now);
      this.usage.prune(now);
    }
    this.alerts.evaluate(values);
    this.usage.flush();
    const sample = { at: new Date(now).toISOString(), values };
    this.#latest = sample;
    this.deps.bus.publish('monitoring.sample', sample);
    return sample;
  }

  /** HTTP response times (µs) recorded since the last tick, taken from the route timings. */
  #httpIntervalLatency(): Histogram {
    const now = this.timings.cumulative(HTTP_TIMING_PREFIX);
    const interval = newIntervalHistogram();
    interval.add(now);
    if (this.#httpTimingsAtTick !== null) {
      interval.subtract(this.#httpTimingsAtTick);
      this.#httpTimingsAtTick.destroy();
    }
    this.#httpTimingsAtTick = now;
    return interval;
  }

  get latest(): Sample | null {
    return this.#latest;
  }

  overview() {
    const stats = this.timings.stats('window');
    const dependencies = this.health.list();
    const system: SystemSnapshot | null = this.system.last;
    return {
      status: this.health.overall(),
      dependencies,
      alerts: this.alerts.active(),
      system,
      latest: this.#latest,
      slowest: topBy(stats, 'p99Ms'),
      mostCalled: topBy(stats, 'count'),
      mostFailing: topBy(stats, 'errors'),
      slowLog: this.timings.slowLog(10),
      recommendations: recommend({ stats, windowSeconds: this.timings.windowSeconds, system, dependencies }),
    };
  }

  #registerOwnSeries(): void {
    const sys = () => this.system.last;
    const own: MetricSeries[] = [
      {
        name: 'http.requests_per_second',
        unit: 'req/s',
        help: 'HTTP requests answered per second',
        read: () => this.#httpTick.requestsPerSecond,
      },
      {
        name: 'http.error_ratio',
        unit: 'ratio',
        help: 'Share of HTTP requests answered with a 5xx (no data under 10 requests)',
        read: () => this.#httpTick.errorRatio,
      },
      { name: 'http.latency_p50_ms', unit: 'ms', help: 'Median HTTP response time', read: () => this.#httpTick.p50Ms },
      { name: 'http.latency_p95_ms', unit: 'ms', help: '95th percentile HTTP response time', read: () => this.#httpTick.p95Ms },
      { name: 'system.cpu_percent', unit: '%', help: 'Process CPU, 100 = one core', read: () => sys()?.cpuPercent ?? null },
      { name: 'system.rss_bytes', unit: 'bytes', help: 'Resident memory of the process', read: () => sys()?.rssBytes ?? null },
      { name: 'system.heap_used_bytes', unit: 'bytes', help: 'JavaScript heap in use', read: () => sys()?.heapUsedBytes ?? null },
      {
        name: 'system.eventloop_delay_p99_ms',
        unit: 'ms',
        help: '99th percentile event-loop delay',
        read: () => sys()?.eventLoopDelayP99Ms ?? null,
      },
      {
        name: 'system.eventloop_utilization',
        unit: 'ratio',
        help: 'Share of time the event loop was busy',
        read: () => sys()?.eventLoopUtilization ?? null,
      },
      { name: 'system.gc_pause_ms', unit: 'ms', help: 'Total GC pause time in the interval', read: () => sys()?.gcPauseTotalMs ?? null },
      {
        name: 'system.active_handles',
        unit: 'count',
        help: 'Active handles and requests (sockets, timers, files)',
        read: () => sys()?.activeHandles ?? null,
      },
      {
        name: 'dependencies.down',
        unit: 'count',
        help: 'Dependencies now down',
        read: () => this.health.list().filter((d) => d.status === 'down').length,
      },
    ];
    for (const s of own) this.series.register(s);
  }

  #registerRedis(client: Redis): void {
    this.health.register(redisProbe(client));
    // A probe's "down" from before the client (re)connected says nothing about the new connection.
    let readyAt = this.deps.clock.now();
    client.on('ready', () => (readyAt = this.deps.clock.now()));
    const probedDown = () => {
      const s = this.health.get('redis');
      return s !== undefined && s.status === 'down' && s.checkedAt !== null && Date.parse(s.checkedAt) >= readyAt;
    };
    this.series.register({
      name: 'redis.up',
      unit: 'bool',
      help: '1 when Redis is connected and answers its probe, else 0',
      // A hung server (SIGSTOP, a full disk) keeps the socket open and ioredis "ready": the probe's
      // PING timing out is what says it is down, so the series follows the probe too.
      read: () => (client.status === 'ready' && !probedDown() ? 1 : 0),
    });
    this.series.register({
      name: 'redis.ping_ms',
      unit: 'ms',
      help: 'Latency of the last Redis PING',
      read: () => {
        const s = this.health.get('redis');
        return s !== undefined && s.status !== 'down' ? s.latencyMs : null;
      },
    });
  }

  #registerPrometheus(): void {
    const m = this.metrics;
    m.gauge('pilothouse_dependency_up', 'Whether a dependency answers its probe (1) or not (0)', ['dependency'], () =>
      this.health
        .list()
        .filter((d) => d.status !== 'unknown')
        .map((d) => [{ dependency: d.name }, d.status === 'down' ? 0 : 1]),
    );
    m.gauge('pilothouse_dependency_probe_duration_seconds', 'How long the last probe of a dependency took', ['dependency'], () =>
      this.health
        .list()
        .flatMap((d) => (d.latencyMs === null ? [] : [[{ dependency: d.name }, d.latencyMs / 1000] as [{ dependency: string }, number]])),
    );
    m.gauge('pilothouse_alert_firing', 'Whether an alert rule is firing (1) or not (0)', ['alert', 'severity'], () =>
      this.alerts.rules().map((r) => [{ alert: r.id, severity: r.severity }, this.alerts.stateOf(r.id) === 'firing' ? 1 : 0]),
    );
    m.gauge('pilothouse_eventloop_utilization_ratio', 'Share of time the event loop was busy over the last sampling interval', [], () =>
      this.system.last === null ? [] : [[{}, this.system.last.eventLoopUtilization]],
    );
    m.gauge('pilothouse_disk_free_bytes', 'Free bytes on the disk holding a watched folder', ['disk'], () =>
      (this.system.last?.disks ?? []).map((d) => [{ disk: d.label }, d.freeBytes]),
    );
    m.gauge('pilothouse_disk_size_bytes', 'Size of the disk holding a watched folder', ['disk'], () =>
      (this.system.last?.disks ?? []).map((d) => [{ disk: d.label }, d.totalBytes]),
    );
  }
}

export type { HealthProbe, MetricSeries };
