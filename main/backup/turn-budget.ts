/**
 * How long the backup's page loops on the main thread (index lookups, copies) may run in one
 * event-loop turn before they yield. A few milliseconds: the API's requests and the Redis client's
 * replies queued behind a loop wait at most this long, and a 1,024-page chunk still takes only a
 * handful of turns.
 */
export const TURN_BUDGET_MS = 4;

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * A per-turn budget for main-thread work done in small steps: `spent()` is cheap enough to ask after
 * every step, and `yieldTurn()` lets the event loop run what is waiting (setImmediate runs after the
 * I/O callbacks that are due) before the next step.
 */
export class TurnBudget {
  #since = performance.now();

  constructor(
    readonly budgetMs = TURN_BUDGET_MS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** True once this turn's share is used up. */
  spent(): boolean {
    return this.now() - this.#since >= this.budgetMs;
  }

  /** Yields to the event loop and starts a fresh turn's budget. */
  async yieldTurn(): Promise<void> {
    await nextTurn();
    this.#since = this.now();
  }

  /** Yields only when the budget is spent; the common case costs one clock read and no await. */
  async step(): Promise<void> {
    if (this.spent()) await this.yieldTurn();
  }
}
