import type { FlowJob, FlowProducer, Job, JobsOptions } from 'bullmq';
import type { Clock } from '../clock';
import type { EventBus } from '../events';
import type { FleetSeal } from '../fleet';
import { sealEnvelope, type Envelope } from './bullmq-job-info';
import { jobIdOf, parseQueueName, queueName, type QueueRef } from './bullmq-names';
import type { QueuePlacement } from './bullmq-placement';
import { jobOptions, type BullmqQueues } from './bullmq-queues';
import type { TypeEntry } from './bullmq-workers';
import type { PrunePolicy } from './job-history';
import type { JobOutbox, OutboxEntry } from './job-outbox';
import type { JobSchedules } from './job-schedules';
import { prepareSpec, validateJobSpec } from './job-spec';
import type { ChildSpec, JobInfo, JobSpec } from './job-types';

export interface BullmqEnqueueDeps {
  readonly handlers: ReadonlyMap<string, TypeEntry>;
  readonly queues: BullmqQueues;
  readonly placement: QueuePlacement;
  /** The queue's flow producer; null before start. */
  readonly flows: () => FlowProducer | null;
  readonly outbox: JobOutbox;
  readonly schedules: JobSchedules;
  readonly clock: Clock;
  readonly bus: EventBus | null;
  readonly seal: FleetSeal;
  readonly prefix: string;
  readonly history: PrunePolicy;
  readonly info: (job: Job) => Promise<JobInfo>;
}

/**
 * Adds jobs to the distributed queue: one, many, or a flow of a parent and its children. Each job
 * with an id goes in this node's outbox before BullMQ is asked (and out again if BullMQ throws), so
 * a Redis that comes back empty gets it again; a repeating job's schedule goes in this node's record.
 */
export class BullmqEnqueue {
  constructor(private readonly deps: BullmqEnqueueDeps) {}

  async enqueue(input: JobSpec): Promise<JobInfo> {
    const { queues, outbox, schedules } = this.deps;
    validateJobSpec(input);
    const spec = this.#prepare(input);
    if (spec.children !== undefined && spec.children.length > 0) {
      const flow = await this.#flowJob(spec, undefined);
      const id = jobIdOf(parseQueueName(flow.queueName) as QueueRef, flow.opts?.jobId as string);
      outbox.add([{ id, queue: flow.queueName, kind: 'flow', body: flow, runAt: this.#runAt(spec) }]);
      const node = await this.#added(id, () => (this.deps.flows() as FlowProducer).add(flow));
      return this.deps.info(node.job as Job);
    }
    const ref = await this.deps.placement.place(spec);
    const opts = jobOptions(spec, this.deps.clock.now(), this.deps.history);
    const queue = queues.of(ref);
    if (opts.jobId !== undefined && opts.jobId.startsWith('k-')) {
      const existing = await queue.getJob(opts.jobId);
      if (existing !== undefined) return this.deps.info(existing);
    }
    const data = this.#envelope(spec);
    const id = opts.jobId === undefined ? null : jobIdOf(ref, opts.jobId);
    if (id !== null) outbox.add([{ id, queue: queue.name, kind: 'job', body: { name: spec.type, data, opts }, runAt: this.#runAt(spec) }]);
    // A schedule lives in Redis only: this node, its owner, keeps it to register it again after a loss.
    const schedule = opts.repeat?.key === undefined ? null : `${queue.name}/${opts.repeat.key}`;
    // A repeating job goes through BullMQ's repeat helper, whose set-up failure would reach no one.
    if (schedule !== null) await queue.waitUntilReady();
    if (schedule !== null) schedules.add({ id: schedule, queue: queue.name, name: spec.type, data, opts });
    const job = await this.#added(id, () => queue.add(spec.type, data, opts)).catch((err: unknown) => {
      if (schedule !== null) schedules.remove(schedule);
      throw err;
    });
    const info = await this.deps.info(job);
    this.deps.bus?.publish('jobs.changed', { id: info.id, type: spec.type, state: info.state, removed: false });
    return info;
  }

  async enqueueBulk(specs: readonly JobSpec[]): Promise<string[]> {
    const byQueue = new Map<string, { ref: QueueRef; items: { index: number; spec: JobSpec; opts: JobsOptions }[] }>();
    for (const [index, input] of specs.entries()) {
      validateJobSpec(input);
      const spec = this.#prepare(input);
      const ref = await this.deps.placement.place(spec);
      const group = byQueue.get(queueName(ref)) ?? { ref, items: [] };
      group.items.push({ index, spec, opts: jobOptions(spec, this.deps.clock.now(), this.deps.history) });
      byQueue.set(queueName(ref), group);
    }
    const ids = new Array<string>(specs.length);
    for (const [name, { ref, items }] of byQueue) {
      const entries = items.map(({ spec, opts }) => ({ name: spec.type, data: this.#envelope(spec), opts }));
      const outboxed: OutboxEntry[] = items
        .filter(({ opts }) => opts.jobId !== undefined)
        .map(({ spec, opts }, i) => ({
          id: jobIdOf(ref, opts.jobId as string),
          queue: name,
          kind: 'job',
          body: entries[i],
          runAt: this.#runAt(spec),
        }));
      this.deps.outbox.add(outboxed);
      const jobs = await this.#added(null, () => this.deps.queues.of(ref).addBulk(entries)).catch((err: unknown) => {
        this.deps.outbox.remove(outboxed.map((e) => e.id));
        throw err;
      });
      jobs.forEach((job, i) => (ids[(items[i] as { index: number }).index] = jobIdOf(ref, job.id as string)));
    }
    return ids;
  }

  /** Runs BullMQ's add; if it throws, the outbox entry goes too (the client was not told it was queued). */
  async #added<T>(id: string | null, add: () => Promise<T>): Promise<T> {
    try {
      return await add();
    } catch (err) {
      if (id !== null) this.deps.outbox.remove([id]);
      throw err;
    }
  }

  #prepare(spec: JobSpec): JobSpec {
    return prepareSpec(spec, (type) => this.deps.handlers.get(type)?.options.prepare);
  }

  #runAt(spec: JobSpec): number {
    const now = this.deps.clock.now();
    return spec.runAt ?? now + (spec.delayMs ?? 0);
  }

  /** `policy` is undefined for the root of a flow. */
  async #flowJob(spec: JobSpec, policy: ChildSpec['policy']): Promise<FlowJob> {
    const children = await Promise.all(
      (spec.children ?? []).map((c) => this.#flowJob({ ...c, createdBy: c.createdBy ?? spec.createdBy }, c.policy ?? 'fail-parent')),
    );
    return {
      name: spec.type,
      queueName: queueName(await this.deps.placement.place(spec)),
      prefix: this.deps.prefix,
      data: this.#envelope(spec),
      opts: jobOptions(spec, this.deps.clock.now(), this.deps.history, policy),
      ...(children.length > 0 ? { children } : {}),
    };
  }

  #envelope(spec: JobSpec): Envelope {
    const sealed = sealEnvelope(this.deps.seal, spec.type, spec.payload ?? null, spec.timeoutMs ?? null, spec.createdBy ?? null);
    // The caller's key, to show back: the job id is only its hash (job-info.ts checks the two agree).
    return spec.idempotencyKey === undefined ? sealed : { ...sealed, key: spec.idempotencyKey };
  }
}
