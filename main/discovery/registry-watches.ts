import type { InstanceFilter } from './types';

interface Waiter {
  filter: InstanceFilter;
  index: number;
  resolve: (changed: boolean) => void;
}

/**
 * The registry's long-poll watches: each waits for the watch index to pass the one its client
 * last saw, by a change to a service its filter covers, or for its wait to run out.
 */
export class RegistryWatches {
  #waiters: Waiter[] = [];
  #closing = false;

  /** Set once the watches were released for shutdown: long-poll answers then close their connection. */
  get closing(): boolean {
    return this.#closing;
  }

  reopen(): void {
    this.#closing = false;
  }

  /** Resolves `true` when `wake` reports a later index for a covered service, `false` after `waitMs`. */
  wait(filter: InstanceFilter, index: number, waitMs: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        resolve(false);
      }, waitMs);
      const waiter: Waiter = {
        filter,
        index,
        resolve: (changed) => {
          clearTimeout(timer);
          resolve(changed);
        },
      };
      this.#waiters.push(waiter);
    });
  }

  /** A change to service `name` moved the index to `index`: wake the watches it answers. */
  wake(name: string, index: number): void {
    if (this.#waiters.length === 0) return;
    const keep: Waiter[] = [];
    for (const w of this.#waiters) {
      if (index > w.index && (w.filter.name === undefined || w.filter.name === name)) w.resolve(true);
      else keep.push(w);
    }
    this.#waiters = keep;
  }

  /** Ends every pending watch now (shutdown), each returning what it would see. */
  release(): void {
    this.#closing = true;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w.resolve(false);
  }
}
