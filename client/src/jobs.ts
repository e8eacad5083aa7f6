import type { EventTypes, OperationInput, OperationOutput } from './generated/contract';
import type { EventFeed } from './events';
import type { Transport } from './http';

export type JobInfo = OperationOutput<'jobs.get'>['job'];
export type JobProgress = EventTypes['jobs.progress'];
const ENDED = new Set(['completed', 'dead', 'cancelled']);

/**
 * A job's progress as an async iterator: each `jobs.progress` event of the job, in order, until it
 * ends; `result` then resolves with the job as it ended (state `completed`, `dead` or `cancelled`).
 * It listens from the moment it is made, so nothing reported before the first `next()` is lost.
 */
export class JobProgressIterator implements AsyncIterableIterator<JobProgress> {
  readonly #queue: JobProgress[] = [];
  #wake: (() => void) | null = null;
  #ended: JobInfo | null = null;
  #failed: unknown = null;
  #stop: (() => void)[] = [];
  readonly result: Promise<JobInfo>;
  #settle!: (job: JobInfo) => void;
  #id: string | null = null;
  /** Events heard before the job's id was known (it is being enqueued): sorted out by `bind`. */
  #early: { progress?: JobProgress; ended?: string }[] = [];

  constructor(
    private readonly transport: Transport,
    events: EventFeed,
  ) {
    this.result = new Promise((resolve) => {
      this.#settle = resolve;
    });
    this.ready = Promise.all([
      events.on('jobs.progress', (p) => {
        if (this.#id === null) this.#early.push({ progress: p });
        else if (p.id === this.#id) {
          this.#queue.push(p);
          this.#wake?.();
        }
      }),
      events.on('jobs.changed', (c) => {
        if (!ENDED.has(c.state)) return;
        if (this.#id === null) this.#early.push({ ended: c.id });
        else if (c.id === this.#id) void this.#end();
      }),
    ]).then((stops) => {
      this.#stop = stops;
    });
  }

  /** Resolves once the socket follows the jobs' events. */
  readonly ready: Promise<void>;

  get id(): string {
    return this.#id ?? '';
  }

  /** Names the job to follow, keeps what was heard of it already, and checks it: it may have ended meanwhile. */
  async bind(id: string): Promise<void> {
    this.#id = id;
    const early = this.#early;
    this.#early = [];
    for (const e of early) if (e.progress?.id === id) this.#queue.push(e.progress);
    const { job } = await this.transport.call('jobs.get', { id });
    if (ENDED.has(job.state) || early.some((e) => e.ended === id)) await this.#end(ENDED.has(job.state) ? job : undefined);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<JobProgress>> {
    for (;;) {
      const queued = this.#queue.shift();
      if (queued !== undefined) return { value: queued, done: false };
      if (this.#failed !== null) throw this.#failed;
      if (this.#ended !== null) return { value: undefined, done: true };
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
      this.#wake = null;
    }
  }

  async return(): Promise<IteratorResult<JobProgress>> {
    for (const stop of this.#stop) stop();
    return { value: undefined, done: true };
  }

  async #end(known?: JobInfo): Promise<void> {
    if (this.#ended !== null) return;
    try {
      const job = known ?? (await this.transport.call('jobs.get', { id: this.id })).job;
      if (!ENDED.has(job.state)) return;
      if (this.#ended !== null) return;
      this.#ended = job;
      for (const stop of this.#stop) stop();
      this.#settle(job);
    } catch (err) {
      this.#failed = err;
    }
    this.#wake?.();
  }
}

export class Jobs {
  constructor(
    private readonly transport: Transport,
    private readonly events: EventFeed,
  ) {}

  /** Enqueues a job; iterate `progress` for its progress events, await `progress.result` for its end. */
  async enqueue(spec: OperationInput<'jobs.enqueue'>): Promise<{ job: JobInfo; progress: JobProgressIterator }> {
    // Events are followed before the job exists, and the job checked once after: nothing is missed.
    const progress = new JobProgressIterator(this.transport, this.events);
    await progress.ready;
    const { job } = await this.transport.call('jobs.enqueue', spec);
    await progress.bind(job.id);
    return { job, progress };
  }

  /** Follows a job already enqueued. */
  async follow(id: string): Promise<JobProgressIterator> {
    const progress = new JobProgressIterator(this.transport, this.events);
    await progress.ready;
    await progress.bind(id);
    return progress;
  }
}
