import type { Clock } from '../clock';

/**
 * Versions for last-writer-wins: a hybrid logical clock. A version is `<ms:12 hex>.<counter:4 hex>.<node>`,
 * so comparing two as strings orders them by time, then by counter, then by node id: every node
 * picks the same winner for the same pair, whatever order they arrive in. A node never issues a
 * version below one it has seen, so an edit made after reading a record always beats that record,
 * even when this node's wall clock is behind the writer's.
 */
export class HybridClock {
  #ms = 0;
  #counter = 0;

  constructor(
    private readonly clock: Clock,
    private readonly nodeId: string,
  ) {}

  /** The version of something that predates replication: below every real edit. */
  static zero(nodeId: string): string {
    return `${'0'.repeat(12)}.0000.${nodeId}`;
  }

  next(): string {
    const now = this.clock.now();
    if (now > this.#ms) {
      this.#ms = now;
      this.#counter = 0;
    } else {
      this.#counter += 1;
      if (this.#counter > 0xffff) {
        this.#ms += 1;
        this.#counter = 0;
      }
    }
    return `${this.#ms.toString(16).padStart(12, '0')}.${this.#counter.toString(16).padStart(4, '0')}.${this.nodeId}`;
  }

  /** Moves the clock past a version another node issued. */
  observe(version: string): void {
    const ms = parseInt(version.slice(0, 12), 16);
    const counter = parseInt(version.slice(13, 17), 16);
    if (!Number.isFinite(ms) || !Number.isFinite(counter)) return;
    if (ms > this.#ms || (ms === this.#ms && counter > this.#counter)) {
      this.#ms = ms;
      this.#counter = counter;
    }
  }
}

export const VERSION_PATTERN = '^[0-9a-f]{12}\\.[0-9a-f]{4}\\.[A-Za-z0-9._-]{1,64}$';
