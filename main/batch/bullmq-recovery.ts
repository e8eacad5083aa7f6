import type { FlowProducer } from 'bullmq';
import type { Clock } from '../clock';
import type { RedisEpoch } from '../fleet';
import type { Logger } from '../logger';
import type { BullmqQueues } from './bullmq-queues';
import type { NodeRoster } from './job-nodes';
import type { JobOutbox } from './job-outbox';
import type { JobResults } from './job-results';
import type { JobSchedules } from './job-schedules';

export interface BullmqRecoveryDeps {
  readonly roster: NodeRoster;
  readonly outbox: JobOutbox;
  readonly schedules: JobSchedules;
  readonly results: JobResults;
  readonly queues: BullmqQueues;
  /** The queue's flow producer; null before start. */
  readonly flows: () => FlowProducer | null;
  /** The queues this node's workers take jobs from (none when it does not work). */
  readonly workQueues: () => string[];
  readonly clock: Clock;
  readonly logger: Logger;
  /** Tells when Redis came back empty; null when nothing watches for it. */
  readonly epoch: RedisEpoch | null;
  readonly sweepMs: number;
}

/**
 * Keeps this node's outbox true to Redis: forgets on a timer the entries whose jobs ended, and after
 * Redis came back empty puts back what this node owns there (its jobs, schedules, results, liveness).
 */
export class BullmqRecovery {
  #sweeper: NodeJS.Timeout | null = null;
  #offEmptied: (() => void) | null = null;
  /** Recoveries under way: a stop waits for them, or one would open a queue on the connection it just closed. */
  readonly #recovering = new Set<Promise<string[]>>();

  constructor(private readonly deps: BullmqRecoveryDeps) {}

  start(): void {
    this.#offEmptied =
      this.deps.epoch?.onEmptied(async () => {
        await this.recover();
      }) ?? null;
    this.#sweeper = setInterval(() => void this.sweepOutbox().catch(() => undefined), this.deps.sweepMs);
    this.#sweeper.unref();
  }

  /** Stops watching and sweeping, and waits for the recoveries under way. */
  async stop(): Promise<void> {
    this.#offEmptied?.();
    if (this.#sweeper !== null) clearInterval(this.#sweeper);
    await Promise.allSettled([...this.#recovering]);
  }

  /** Forgets outbox entries whose jobs ended (run by a timer; tests call it). */
  sweepOutbox(): Promise<number> {
    // The epoch as it was before Redis is read: an entry Redis lacks is forgotten only if none was lost since.
    const epoch = this.deps.epoch;
    const seen = epoch?.known ?? null;
    return this.deps.outbox.sweep(
      (e) => this.deps.queues.stateOf(e),
      () => (epoch === null ? Promise.resolve(true) : epoch.stillSame(seen)),
    );
  }

  /**
   * After Redis came back empty: re-adds (same id) every job of this node's outbox that Redis lost,
   * delayed ones with what is left of their delay, registers again the repeating jobs this node
   * registered, and re-publishes this node's results and liveness.
   */
  async recover(): Promise<string[]> {
    const run = this.#recover();
    this.#recovering.add(run);
    try {
      return await run;
    } finally {
      this.#recovering.delete(run);
    }
  }

  async #recover(): Promise<string[]> {
    const { roster, outbox, schedules, results, queues } = this.deps;
    await roster.republish(this.deps.workQueues());
    const restored = await outbox.restore(
      (e) => queues.stateOf(e),
      (e) => queues.readd(e, this.deps.flows() as FlowProducer, this.deps.clock.now()),
    );
    const restoredSchedules = await schedules.restore((name) => queues.byName(name));
    const republished = await results.republish();
    this.deps.logger.warn(
      { restored: restored.length, schedules: restoredSchedules.length, results: republished },
      're-enqueued the jobs and schedules redis lost and re-published job results',
    );
    return restored;
  }
}
