/**
 * Names on the distributed queue. A job type placed on `any` node has one BullMQ queue
 * (`ph-<type>`); a type placed on its target's node has one queue per node (`ph-<type>@<node>`),
 * which only that node's worker reads, so the owner runs it whichever node enqueued it.
 * A job's id is `<type>/<bullmq id>` or `<type>@<node>/<bullmq id>`: the queue it is in, then its id.
 */
import { createHash } from 'node:crypto';

export interface QueueRef {
  readonly type: string;
  readonly node: string | null;
}

export function queueName(ref: QueueRef): string {
  return `ph-${ref.type.replaceAll(':', '~')}${ref.node === null ? '' : `@${ref.node}`}`;
}

export function parseQueueName(name: string): QueueRef | null {
  if (!name.startsWith('ph-')) return null;
  const at = name.indexOf('@');
  const type = (at < 0 ? name.slice(3) : name.slice(3, at)).replaceAll('~', ':');
  return { type, node: at < 0 ? null : name.slice(at + 1) };
}

export function jobIdOf(ref: QueueRef, bullId: string): string {
  return `${ref.type}${ref.node === null ? '' : `@${ref.node}`}/${bullId}`;
}

/**
 * The queue and BullMQ id a job id names, or null when it names none: a node part with a `:` could
 * not be in a queue name (BullMQ refuses one, so the lookup would throw instead of finding nothing).
 */
export function parseJobId(id: string): (QueueRef & { bullId: string }) | null {
  const slash = id.indexOf('/');
  if (slash <= 0 || slash === id.length - 1) return null;
  const head = id.slice(0, slash);
  const at = head.indexOf('@');
  const node = at < 0 ? null : head.slice(at + 1);
  if (node?.includes(':')) return null;
  return { type: at < 0 ? head : head.slice(0, at), node, bullId: id.slice(slash + 1) };
}

/** The BullMQ job id of a job enqueued with an idempotency key: the key hashed, so any text makes a valid, bounded id. */
export function keyedJobId(idempotencyKey: string): string {
  return `k-${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 32)}`;
}
