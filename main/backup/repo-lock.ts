/** What an operation does to the repository, which decides what may run beside it. */
export type LockMode = 'read' | 'append' | 'prune';

interface Waiter {
  mode: LockMode;
  grant: () => void;
}

/**
 * Readers (verify, restore, download) run together and beside one appender (a snapshot only adds
 * packs and manifests); appenders run one at a time; prune runs alone, so it can never delete or move
 * a page that a running restore or verify is reading, nor one a running snapshot has just deduplicated
 * against. Waiters are served in arrival order, so a stream of readers cannot starve a prune.
 */
export class RepoLock {
  #readers = 0;
  #appending = false;
  #pruning = false;
  readonly #queue: Waiter[] = [];

  async run<T>(mode: LockMode, fn: () => Promise<T>): Promise<T> {
    await this.#acquire(mode);
    try {
      return await fn();
    } finally {
      this.#release(mode);
    }
  }

  get busy(): boolean {
    return this.#readers > 0 || this.#appending || this.#pruning;
  }

  #compatible(mode: LockMode): boolean {
    if (this.#pruning) return false;
    if (mode === 'read') return true;
    if (mode === 'append') return !this.#appending;
    return this.#readers === 0 && !this.#appending;
  }

  #take(mode: LockMode): void {
    if (mode === 'read') this.#readers += 1;
    else if (mode === 'append') this.#appending = true;
    else this.#pruning = true;
  }

  #acquire(mode: LockMode): Promise<void> {
    if (this.#queue.length === 0 && this.#compatible(mode)) {
      this.#take(mode);
      return Promise.resolve();
    }
    return new Promise((grant) => this.#queue.push({ mode, grant }));
  }

  #release(mode: LockMode): void {
    if (mode === 'read') this.#readers -= 1;
    else if (mode === 'append') this.#appending = false;
    else this.#pruning = false;
    while (this.#queue.length > 0) {
      const next = this.#queue[0] as Waiter;
      if (!this.#compatible(next.mode)) break;
      this.#queue.shift();
      this.#take(next.mode);
      next.grant();
    }
  }
}
