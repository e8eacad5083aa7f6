import type { Clock } from '../clock';

export type DependencyState = 'up' | 'degraded' | 'down' | 'unknown';

/** What a probe reports. Throwing (or timing out) counts as `down` with the error's message. */
export interface ProbeResult {
  status: Exclude<DependencyState, 'unknown'>;
  detail?: string;
  latencyMs?: number;
}

export interface HealthProbe {
  /** Shown to operators and used as the metric label: `sqlite`, `redis`, `disk:data`, `jobs`, ... */
  readonly name: string;
  /** A critical dependency that is down makes `/readyz` answer 503; others only degrade the node. */
  readonly critical: boolean;
  /** Longest a probe may take before it counts as down. Default 2 s. */
  readonly timeoutMs?: number;
  check(): Promise<ProbeResult> | ProbeResult;
}

export interface DependencyStatus {
  name: string;
  status: DependencyState;
  critical: boolean;
  detail: string;
  latencyMs: number | null;
  since: string;
  checkedAt: string | null;
}

const DEFAULT_TIMEOUT_MS = 2_000;

/**
 * The registry of everything the node depends on. Monitoring registers SQLite, Redis and disk;
 * other capabilities register their own probes (real-time hub, job backlog, backup freshness) through
 * `register()`. `checkAll()` runs every probe concurrently, each within its timeout, and remembers
 * since when each has been in its status; listeners hear about changes.
 */
export class DependencyHealth {
  readonly #probes = new Map<string, HealthProbe>();
  readonly #status = new Map<string, DependencyStatus>();
  readonly #listeners = new Set<(status: DependencyStatus, previous: DependencyState) => void>();
  #running: Promise<DependencyStatus[]> | null = null;

  constructor(private readonly clock: Clock) {}

  register(probe: HealthProbe): () => void {
    this.#probes.set(probe.name, probe);
    this.#status.set(probe.name, {
      name: probe.name,
      status: 'unknown',
      critical: probe.critical,
      detail: 'not checked yet',
      latencyMs: null,
      since: new Date(this.clock.now()).toISOString(),
      checkedAt: null,
    });
    return () => {
      this.#probes.delete(probe.name);
      this.#status.delete(probe.name);
    };
  }

  onChange(listener: (status: DependencyStatus, previous: DependencyState) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The last known status of every dependency, sorted critical first, then by name. */
  list(): DependencyStatus[] {
    return [...this.#status.values()].sort((a, b) => Number(b.critical) - Number(a.critical) || a.name.localeCompare(b.name));
  }

  get(name: string): DependencyStatus | undefined {
    return this.#status.get(name);
  }

  /** Probes everything now; concurrent callers share one round. */
  checkAll(): Promise<DependencyStatus[]> {
    this.#running ??= Promise.all([...this.#probes.values()].map((p) => this.#check(p)))
      .then(() => this.list())
      .finally(() => {
        this.#running = null;
      });
    return this.#running;
  }

  /** `down` when a critical dependency is down, `degraded` when anything else is not up, else `ok`. */
  overall(): 'ok' | 'degraded' | 'down' {
    let degraded = false;
    for (const s of this.#status.values()) {
      if (s.status === 'down' && s.critical) return 'down';
      if (s.status === 'down' || s.status === 'degraded') degraded = true;
    }
    return degraded ? 'degraded' : 'ok';
  }

  async #check(probe: HealthProbe): Promise<void> {
    const started = performance.now();
    let result: ProbeResult;
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeoutMs = probe.timeoutMs ?? DEFAULT_TIMEOUT_MS;
      result = await Promise.race([
        Promise.resolve().then(() => probe.check()),
        new Promise<ProbeResult>((resolve) => {
          timer = setTimeout(() => resolve({ status: 'down', detail: `no answer within ${timeoutMs} ms` }), timeoutMs);
        }),
      ]);
    } catch (err) {
      result = { status: 'down', detail: err instanceof Error ? err.message : String(err) };
    } finally {
      clearTimeout(timer);
    }
    if (!this.#probes.has(probe.name)) return;
    const previous = this.#status.get(probe.name);
    const now = new Date(this.clock.now()).toISOString();
    const next: DependencyStatus = {
      name: probe.name,
      status: result.status,
      critical: probe.critical,
      detail: result.detail ?? result.status,
      latencyMs: result.latencyMs ?? Math.round((performance.now() - started) * 1000) / 1000,
      since: previous !== undefined && previous.status === result.status ? previous.since : now,
      checkedAt: now,
    };
    this.#status.set(probe.name, next);
    if (previous?.status !== next.status) for (const listener of this.#listeners) listener(next, previous?.status ?? 'unknown');
  }
}
