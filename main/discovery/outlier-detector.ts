import type { OutlierPolicy } from './types';

interface HostState {
  consecutive: number;
  ejections: number;
  ejectedUntil: number;
}

export interface Ejection {
  readonly id: string;
  readonly until: number;
  readonly ejections: number;
}

/**
 * Envoy-style outlier ejection for one service: `consecutiveFailures` 5xx answers or connection
 * failures in a row eject an instance for `baseEjectionMs × (times ejected)`, at most
 * `maxEjectionMs`; an ejection that would put more than `maxEjectionShare` of the service's
 * instances out at once is not made. An ejected instance comes back by itself when its time is up.
 */
export class OutlierDetector {
  readonly #hosts = new Map<string, HostState>();

  constructor(public policy: OutlierPolicy) {}

  isEjected(id: string, now: number): boolean {
    const host = this.#hosts.get(id);
    return host !== undefined && host.ejectedUntil > now;
  }

  /** How many instances are out right now. */
  ejectedCount(now: number): number {
    let n = 0;
    for (const host of this.#hosts.values()) if (host.ejectedUntil > now) n += 1;
    return n;
  }

  success(id: string): void {
    const host = this.#hosts.get(id);
    if (host !== undefined) host.consecutive = 0;
  }

  /** Records a failure; returns the ejection when this failure ejected the instance. */
  failure(id: string, now: number, instancesInService: number): Ejection | null {
    let host = this.#hosts.get(id);
    if (host === undefined) {
      host = { consecutive: 0, ejections: 0, ejectedUntil: 0 };
      this.#hosts.set(id, host);
    }
    host.consecutive += 1;
    if (host.ejectedUntil > now || host.consecutive < this.policy.consecutiveFailures) return null;
    const allowed = Math.floor(this.policy.maxEjectionShare * instancesInService);
    if (this.ejectedCount(now) + 1 > allowed) return null;
    host.ejections += 1;
    host.consecutive = 0;
    host.ejectedUntil = now + Math.min(this.policy.baseEjectionMs * host.ejections, this.policy.maxEjectionMs);
    return { id, until: host.ejectedUntil, ejections: host.ejections };
  }

  state(id: string): { ejectedUntil: number; ejections: number } {
    const host = this.#hosts.get(id);
    return { ejectedUntil: host?.ejectedUntil ?? 0, ejections: host?.ejections ?? 0 };
  }

  forget(id: string): void {
    this.#hosts.delete(id);
  }
}
