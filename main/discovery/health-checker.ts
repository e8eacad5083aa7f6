import type { Clock } from '../clock';
import type { Logger } from '../logger';
import type { CheckRunners } from './check-runners';
import type { RegistryChange, ServiceRegistry } from './registry';
import type { ResolvedCheck } from './types';

export interface HealthCheckerOptions {
  /** How often instances critical past their `deregisterAfterMs` are looked for. */
  readonly sweepMs?: number;
  /** Tests pass a seeded one; the default is Math.random. */
  readonly random?: () => number;
  /** With several nodes: whether this node runs the instance's checks (see RedisSync). Default: all. */
  readonly owns?: (id: string) => boolean;
}

interface Scheduled {
  check: ResolvedCheck;
  timer: NodeJS.Timeout | null;
  running: boolean;
}

/**
 * Runs every HTTP and TCP check on its interval, stretched or shrunk by up to `jitter` so a
 * thousand checks registered at once spread out instead of firing together; arms each TTL check
 * to go critical when no heartbeat came within the TTL; and removes instances critical for longer
 * than their `deregisterAfterMs`. It follows the registry: a (re)registration reschedules that
 * instance's checks, a deregistration cancels them.
 */
export class HealthChecker {
  readonly #scheduled = new Map<string, Map<string, Scheduled>>();
  readonly #random: () => number;
  #unsubscribe: (() => void) | null = null;
  #sweeper: NodeJS.Timeout | null = null;
  #running = false;
  /** Checks run since start, for the bench and the status line. */
  runs = 0;

  constructor(
    private readonly registry: ServiceRegistry,
    private readonly runners: CheckRunners,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly options: HealthCheckerOptions = {},
  ) {
    this.#random = options.random ?? Math.random;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#unsubscribe = this.registry.onChange((change) => this.#onChange(change));
    for (const { id, checks } of this.registry.scheduled()) this.#schedule(id, checks);
    this.#sweeper = setInterval(() => this.sweep(), this.options.sweepMs ?? 500);
    this.#sweeper.unref();
  }

  stop(): void {
    this.#running = false;
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    if (this.#sweeper !== null) clearInterval(this.#sweeper);
    this.#sweeper = null;
    for (const id of [...this.#scheduled.keys()]) this.#cancel(id);
  }

  get scheduledChecks(): number {
    let n = 0;
    for (const checks of this.#scheduled.values()) n += checks.size;
    return n;
  }

  /** Deregisters every instance critical past its deregister-after time; returns their ids. */
  sweep(): string[] {
    const removed: string[] = [];
    for (const { id, reason } of this.registry.overdue(this.clock.now())) {
      if (!this.#owns(id)) continue;
      try {
        this.registry.deregister(id, reason, 'system');
        removed.push(id);
      } catch (err) {
        this.logger.warn({ err, id }, 'deregister-after failed');
      }
    }
    return removed;
  }

  #onChange(change: RegistryChange): void {
    if (change.kind === 'registered') this.#schedule(change.id, change.checks);
    else if (change.kind === 'deregistered') this.#cancel(change.id);
    else if (change.kind === 'heartbeat') this.#rearmTtl(change.id);
    else if (!this.#scheduled.has(change.id)) this.#schedule(change.id, change.checks);
  }

  #schedule(id: string, checks: readonly ResolvedCheck[]): void {
    this.#cancel(id);
    const map = new Map<string, Scheduled>();
    this.#scheduled.set(id, map);
    for (const check of checks) {
      const slot: Scheduled = { check, timer: null, running: false };
      map.set(check.id, slot);
      if (check.kind === 'ttl') this.#armTtl(id, slot);
      // The first run lands anywhere in the first second (or interval), spreading a burst of registrations.
      else this.#arm(id, slot, this.#random() * Math.min(check.intervalMs, 1_000));
    }
  }

  #cancel(id: string): void {
    const map = this.#scheduled.get(id);
    if (map === undefined) return;
    for (const slot of map.values()) if (slot.timer !== null) clearTimeout(slot.timer);
    this.#scheduled.delete(id);
  }

  #arm(id: string, slot: Scheduled, delayMs: number): void {
    slot.timer = setTimeout(() => void this.#run(id, slot), Math.max(0, delayMs));
    slot.timer.unref();
  }

  async #run(id: string, slot: Scheduled): Promise<void> {
    slot.timer = null;
    if (slot.running) return;
    slot.running = true;
    const started = this.clock.now();
    try {
      // Another node owns this instance: keep the schedule so that this node takes over on time.
      if (this.#owns(id)) {
        const result = await this.runners.run(slot.check);
        this.runs += 1;
        // Dropped when the instance was deregistered or re-registered with other checks meanwhile.
        if (this.#running && this.#scheduled.get(id)?.get(slot.check.id) === slot) this.registry.recordResult(id, slot.check.id, result);
      }
    } catch (err) {
      this.logger.warn({ err, id, check: slot.check.id }, 'health check failed to run');
    } finally {
      slot.running = false;
    }
    if (!this.#running || this.#scheduled.get(id)?.get(slot.check.id) !== slot) return;
    const { intervalMs, jitter } = slot.check;
    const next = intervalMs * (1 + (this.#random() * 2 - 1) * jitter);
    this.#arm(id, slot, next - (this.clock.now() - started));
  }

  #armTtl(id: string, slot: Scheduled): void {
    if (slot.timer !== null) clearTimeout(slot.timer);
    slot.timer = setTimeout(() => {
      slot.timer = null;
      if (!this.#running) return;
      // Another node owns it: look again a TTL later, in case ownership moves here.
      if (!this.#owns(id)) return this.#armTtl(id, slot);
      this.registry.recordResult(id, slot.check.id, { status: 'critical', output: `TTL expired: no heartbeat for ${slot.check.ttlMs} ms` });
    }, slot.check.ttlMs);
    slot.timer.unref();
  }

  #owns(id: string): boolean {
    return this.options.owns === undefined || this.options.owns(id);
  }

  #rearmTtl(id: string): void {
    const map = this.#scheduled.get(id);
    if (map === undefined) return;
    for (const slot of map.values()) if (slot.check.kind === 'ttl') this.#armTtl(id, slot);
  }
}
