import type { Service, ServiceState } from '../service';
import type { CheckRunners } from './check-runners';
import type { HealthChecker } from './health-checker';
import type { RedisSync } from './redis-sync';
import type { ServiceRegistry } from './registry';

/**
 * The registry and its health checker as one service: load, join the other nodes through Redis
 * when there is a Redis, then schedule the checks; stop in reverse.
 */
export class DiscoveryService implements Service {
  readonly name = 'discovery';
  #state: ServiceState = 'idle';

  constructor(
    private readonly registry: ServiceRegistry,
    private readonly checker: HealthChecker,
    private readonly runners: CheckRunners,
    private readonly sync: RedisSync | null = null,
  ) {}

  async start(): Promise<void> {
    this.#state = 'starting';
    this.registry.load();
    await this.sync?.start();
    this.checker.start();
    this.#state = 'running';
  }

  async stop(): Promise<void> {
    if (this.#state !== 'running') return;
    this.#state = 'stopping';
    this.checker.stop();
    await this.sync?.stop();
    this.registry.releaseWatchers();
    this.runners.close();
    this.#state = 'stopped';
  }

  status(): { state: ServiceState; detail?: string } {
    if (this.#state !== 'running') return { state: this.#state };
    const shared = this.sync?.status();
    if (shared?.state === 'degraded') return { state: 'degraded', detail: shared.detail ?? 'redis' };
    const nodes = this.sync === null ? '' : `, shared with ${this.sync.liveNodes.length - 1} other node(s)`;
    return { state: 'running', detail: `${this.registry.size} instances, ${this.checker.scheduledChecks} checks${nodes}` };
  }
}
