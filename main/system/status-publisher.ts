import type { EventBus } from '../events';
import type { SystemStatus } from './operations';

const CHECK_INTERVAL_MS = 1_000;
const REFRESH_INTERVAL_MS = 10_000;

/**
 * Pushes `service.state` when a service changes state and `system.status` on any change (and every
 * 10 s), so the console's Overview stays live without polling.
 */
export class StatusPublisher {
  #timer: NodeJS.Timeout | null = null;
  #last = new Map<string, string>();
  #lastFullAt = 0;

  constructor(
    private readonly bus: EventBus,
    private readonly status: () => SystemStatus,
  ) {}

  start(): void {
    this.publishNow();
    this.#timer = setInterval(() => this.#check(), CHECK_INTERVAL_MS);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  publishNow(): void {
    const status = this.status();
    this.#last = fingerprint(status);
    this.#lastFullAt = Date.now();
    this.bus.publish('system.status', status);
  }

  #check(): void {
    const status = this.status();
    const next = fingerprint(status);
    let changed = false;
    for (const service of status.services) {
      if (this.#last.get(service.name) !== next.get(service.name)) {
        changed = true;
        this.bus.publish('service.state', service);
      }
    }
    if (changed || this.#last.get(REDIS) !== next.get(REDIS) || Date.now() - this.#lastFullAt >= REFRESH_INTERVAL_MS) {
      this.#last = next;
      this.#lastFullAt = Date.now();
      this.bus.publish('system.status', status);
    }
  }
}

const REDIS = '\0redis';

function fingerprint(status: SystemStatus): Map<string, string> {
  const map = new Map(status.services.map((s) => [s.name, `${s.state}|${s.detail ?? ''}`]));
  map.set(REDIS, status.redis.status);
  return map;
}
