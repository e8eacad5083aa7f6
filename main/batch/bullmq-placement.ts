import { PhError } from '../../contract/errors';
import { parseQueueName, queueName, type QueueRef } from './bullmq-names';
import type { TypeEntry } from './bullmq-workers';
import type { NodeRoster } from './job-nodes';
import type { JobSpec } from './job-types';

/**
 * Which BullMQ queue a job goes to and which ones there are: a type placed on `any` node has one
 * shared queue; a type placed on its target's node has one per node, and the roster lists the
 * per-node queues every node has announced (see bullmq-names.ts).
 */
export class QueuePlacement {
  constructor(
    private readonly handlers: ReadonlyMap<string, TypeEntry>,
    private readonly roster: NodeRoster,
    private readonly nodeId: string,
  ) {}

  registeredTypes(): string[] {
    return [...this.handlers.keys()].sort();
  }

  /** The queue a job goes to: its type's, or its type's on the node that owns the target. */
  async place(spec: JobSpec): Promise<QueueRef> {
    const placement = this.handlers.get(spec.type)?.options.placement;
    if (placement === undefined || placement === 'any') return { type: spec.type, node: null };
    const node = await placement.owner(spec.payload, this.nodeId);
    if (node !== this.nodeId) {
      // A node named in a payload must be one of the fleet's, or each made-up name would be a new queue.
      if (!(await this.roster.knowsNode(node)))
        throw new PhError('PH_INVALID_INPUT', `No node ${JSON.stringify(node)} has run this fleet's jobs`, { field: 'payload' });
      await this.roster.addQueue(queueName({ type: spec.type, node }));
    }
    return { type: spec.type, node };
  }

  /** The queue this node's worker for a type reads. */
  workRef(type: string): QueueRef {
    const placement = this.handlers.get(type)?.options.placement;
    return { type, node: placement === undefined || placement === 'any' ? null : this.nodeId };
  }

  workQueues(): string[] {
    return this.registeredTypes().map((t) => queueName(this.workRef(t)));
  }

  /** Every queue of a type (or of all registered types): the shared one and each node's. */
  async refs(type: string | undefined): Promise<QueueRef[]> {
    const types = type !== undefined ? [type] : this.registeredTypes();
    const known = (await this.roster.queues().catch(() => [])).map(parseQueueName).filter((r): r is QueueRef => r !== null);
    const refs: QueueRef[] = [];
    for (const t of types) {
      refs.push({ type: t, node: null });
      for (const r of known) if (r.type === t && r.node !== null) refs.push(r);
    }
    return refs;
  }
}
