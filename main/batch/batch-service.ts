import type { Logger } from '../logger';
import type { Service, ServiceState } from '../service';
import type { BatchEngine } from './batch-engine';

/** Starts the batch engine's recovery: resumes interrupted non-atomic batches and drains the outbox. */
export class BatchService implements Service {
  readonly name = 'batches';
  #state: ServiceState = 'idle';
  #resuming: Promise<unknown> | null = null;

  constructor(
    readonly engine: BatchEngine,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    this.#state = 'running';
    this.engine.outbox.kick();
    // Resumed in the background: a long interrupted batch must not hold up the start.
    this.#resuming = this.engine.resumeInterrupted().catch((err: unknown) => this.logger.error({ err }, 'resuming batches failed'));
  }

  async stop(): Promise<void> {
    this.#state = 'stopping';
    await this.#resuming;
    await this.engine.outbox.idle();
    this.#state = 'stopped';
  }

  status(): { state: ServiceState; detail?: string } {
    return { state: this.#state };
  }
}
