import * as hdr from 'hdr-histogram-js';
import type { Outcome } from './load-balancer';

interface InstanceStats {
  name: string;
  requests: number;
  errors: number;
  histogram: hdr.Histogram;
  lastError: string | null;
}

/** Requests, errors and latency (an HDR histogram, microseconds) per instance the gateway sent to. */
export class GatewayStats {
  readonly #byInstance = new Map<string, InstanceStats>();

  record(target: { id: string; name: string }, latencyMs: number, outcome: Outcome, error?: string): void {
    let stats = this.#byInstance.get(target.id);
    if (stats === undefined) {
      stats = {
        name: target.name,
        requests: 0,
        errors: 0,
        histogram: hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 2 }),
        lastError: null,
      };
      this.#byInstance.set(target.id, stats);
    }
    stats.requests += 1;
    // A request the caller spoiled is not the instance's error.
    if (outcome !== 'ok' && outcome !== 'client') {
      stats.errors += 1;
      stats.lastError = error ?? outcome;
    }
    stats.histogram.recordValue(Math.max(1, Math.round(latencyMs * 1000)));
  }

  get(id: string): { name: string; requests: number; errors: number; p50Ms: number; p99Ms: number; lastError: string | null } | null {
    const s = this.#byInstance.get(id);
    if (s === undefined) return null;
    return {
      name: s.name,
      requests: s.requests,
      errors: s.errors,
      p50Ms: s.histogram.getValueAtPercentile(50) / 1000,
      p99Ms: s.histogram.getValueAtPercentile(99) / 1000,
      lastError: s.lastError,
    };
  }

  ids(): string[] {
    return [...this.#byInstance.keys()];
  }

  forget(id: string): void {
    this.#byInstance.delete(id);
  }
}
