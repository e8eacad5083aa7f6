import { createHash } from 'node:crypto';
import type { Database, Statement } from 'better-sqlite3';
import type { JobsOptions, Queue } from 'bullmq';
import type { Envelope } from './bullmq-job-info';

/** A repeating job as this node handed it to BullMQ: enough to register it again. */
export interface Schedule {
  /** `<queue>/<repeat key>`. */
  readonly id: string;
  readonly queue: string;
  readonly name: string;
  readonly data: Envelope;
  readonly opts: JobsOptions;
}

/**
 * BullMQ's key for a repeating job: one per queue, job type, cron pattern and idempotency key if any
 * (enqueueing the same again replaces its payload, as BullMQ does). Chosen here rather than by BullMQ so that the
 * schedule is recorded before Redis is asked. No `:` in it: BullMQ reads colons as its older key format.
 */
export function repeatKey(type: string, cron: string, idempotencyKey?: string): string {
  // An idempotency key makes its own series: two backup sources on one cron are two schedules.
  const of = idempotencyKey === undefined ? `${type}\n${cron}` : `${type}\n${cron}\n${idempotencyKey}`;
  return `ph-${createHash('sha256').update(of).digest('hex').slice(0, 32)}`;
}

/**
 * The repeating jobs this node registered on the distributed queue, in its SQLite. BullMQ keeps a
 * schedule only in Redis; a Redis that comes back empty has none, and the node that registered a
 * schedule (its owner) registers it again from here (docs/fleet.md). Removed when the schedule is
 * cancelled or deleted, so a cancelled schedule never comes back.
 */
export class JobSchedules {
  readonly #put: Statement;
  readonly #delete: Statement;
  readonly #all: Statement;

  constructor(
    db: Database,
    private readonly now: () => number,
  ) {
    this.#put = db.prepare('INSERT OR REPLACE INTO job_schedules (id, queue, body, created_at) VALUES (?, ?, ?, ?)');
    this.#delete = db.prepare('DELETE FROM job_schedules WHERE id = ?');
    this.#all = db.prepare('SELECT id, queue, body FROM job_schedules ORDER BY id');
  }

  /** Recorded before BullMQ is asked, so a schedule Redis accepted is always here. */
  add(s: Schedule): void {
    this.#put.run(s.id, s.queue, JSON.stringify({ name: s.name, data: s.data, opts: s.opts }), this.now());
  }

  remove(id: string): void {
    this.#delete.run(id);
  }

  list(): Schedule[] {
    return (this.#all.all() as { id: string; queue: string; body: string }[]).map((r) => {
      const body = JSON.parse(r.body) as { name: string; data: Envelope; opts: JobsOptions };
      return { id: r.id, queue: r.queue, ...body };
    });
  }

  /** After Redis lost its data: registers again every schedule whose queue no longer has it. Returns their ids. */
  async restore(queueOf: (name: string) => Queue): Promise<string[]> {
    const restored: string[] = [];
    for (const s of this.list()) {
      const queue = queueOf(s.queue);
      // BullMQ builds its repeat helper on the queue's connection inside a promise whose failure
      // reaches no one (an unhandled rejection, and a call that never ends): fail here instead.
      await queue.waitUntilReady();
      const key = s.opts.repeat?.key;
      const present = (await queue.getRepeatableJobs()).some((r) => r.key === key);
      if (present) continue;
      await queue.add(s.name, s.data, s.opts);
      restored.push(s.id);
    }
    return restored;
  }
}
