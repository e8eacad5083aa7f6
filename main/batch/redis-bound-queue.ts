import { withRedisDeadline } from '../redis';
import type { ServiceState } from '../service';
import type {
  JobAttempt,
  JobFilter,
  JobPage,
  JobHandler,
  JobInfo,
  JobLog,
  JobQueue,
  JobSpec,
  JobTypeOptions,
  ProgressPoint,
  QueueCounts,
} from './job-types';

/**
 * The distributed queue as callers see it: every call that goes to Redis answers within
 * `timeoutMs`, with PH_REDIS_UNAVAILABLE (503) when Redis is down or hung, instead of waiting out
 * the outage. Registration, start and stop pass straight through.
 */
export class RedisBoundQueue implements JobQueue {
  constructor(
    private readonly inner: JobQueue,
    private readonly timeoutMs?: number,
  ) {}

  get name(): string {
    return this.inner.name;
  }

  get backend(): JobQueue['backend'] {
    return this.inner.backend;
  }

  #bound<T>(what: string, work: Promise<T>): Promise<T> {
    return withRedisDeadline(work, what, this.timeoutMs);
  }

  register(type: string, handler: JobHandler, options?: JobTypeOptions): void {
    this.inner.register(type, handler, options);
  }
  registeredTypes(): string[] {
    return this.inner.registeredTypes();
  }
  typeOptions(type: string): JobTypeOptions | undefined {
    return this.inner.typeOptions(type);
  }
  start(): Promise<void> {
    return this.inner.start();
  }
  stop(): Promise<void> {
    return this.inner.stop();
  }
  status(): { state: ServiceState; detail?: string } {
    return this.inner.status();
  }
  enqueue(spec: JobSpec): Promise<JobInfo> {
    return this.#bound('jobs.enqueue', this.inner.enqueue(spec));
  }
  enqueueBulk(specs: readonly JobSpec[]): Promise<string[]> {
    return this.#bound('jobs.enqueue', this.inner.enqueueBulk(specs));
  }
  get(id: string): Promise<JobInfo> {
    return this.#bound('jobs.get', this.inner.get(id));
  }
  list(filter?: JobFilter): Promise<JobPage> {
    return this.#bound('jobs.list', this.inner.list(filter));
  }
  cancel(id: string): Promise<JobInfo> {
    return this.#bound('jobs.cancel', this.inner.cancel(id));
  }
  retry(id: string): Promise<JobInfo> {
    return this.#bound('jobs.retry', this.inner.retry(id));
  }
  remove(id: string): Promise<void> {
    return this.#bound('jobs.delete', this.inner.remove(id));
  }
  logs(id: string): Promise<JobLog[]> {
    return this.#bound('jobs.get', this.inner.logs(id));
  }
  attempts(id: string): Promise<JobAttempt[]> {
    return this.#bound('jobs.attempts', this.inner.attempts(id));
  }
  timeline(id: string): Promise<ProgressPoint[]> {
    return this.#bound('jobs.get', this.inner.timeline(id));
  }
  promote(id: string): Promise<JobInfo> {
    return this.#bound('jobs.promote', this.inner.promote(id));
  }
  stats(): Promise<QueueCounts[]> {
    return this.#bound('jobs.stats', this.inner.stats());
  }
}
