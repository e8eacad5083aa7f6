import type { Service, ServiceState } from '../service';
import type { CheckRunners } from './check-runners';
import type { HealthChecker } from './health-checker';
import type { ServiceRegistry } from './registry';

/** The registry and its health checker as one service: load and schedule on start, cancel on stop. */
export class DiscoveryService implements Service {
  readonly name = 'discovery';
  #state: ServiceState = 'idle';

  constructor(
    private readonly registry: ServiceRegistry,
    private readonly checker: HealthChecker,
    private readonly runners: CheckRunners,
  ) {}

  async start(): Promise<void> {
    this.#state = 'starting';
    this.registry.load();
    this.checker.start();
    this.#state = 'running';
  }

  async stop(): Promise<void> {
    if (this.#state !== 'running') return;
    this.#state = 'stopping';
    this.checker.stop();
    this.registry.releaseWatchers();
    this.runners.close();
    this.#state = 'stopped';
  }

  status(): { state: ServiceState; detail?: string } {
    return this.#state === 'running'
      ? { state: 'running', detail: `${this.registry.size} instances, ${this.checker.scheduledChecks} checks` }
      : { state: this.#state };
  }
}
