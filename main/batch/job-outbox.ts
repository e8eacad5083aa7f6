import type { Database, Statement } from 'better-sqlite3';

/** A job this node enqueued on the distributed queue, as it was handed to BullMQ. */
export interface OutboxEntry {
  /** The job's full id (`<queue key>/<bullmq id>`). */
  readonly id: string;
  readonly queue: string;
  readonly kind: 'job' | 'flow';
  /** What BullMQ was given: `{ name, data, opts }` for a job, the flow tree for a flow. */
  readonly body: unknown;
  /** When it was due (delayed jobs are re-added with what is left of their delay). */
  readonly runAt: number;
}

/** What Redis says of an outbox entry: still to run or running, ended (any way), or not there at all. */
export type OutboxState = 'live' | 'ended' | 'gone';

/**
 * The enqueuing node's durable record of the jobs it put on Redis, kept until they end. Redis is
 * where jobs wait, but a Redis without persistence that restarts forgets them; this outbox is how
 * no acknowledged job is dropped without a record: after Redis comes back empty, every entry that
 * Redis no longer has is added again under the same id (docs/fleet.md).
 */
export class JobOutbox {
  readonly #insert: Statement;
  readonly #delete: Statement;

  constructor(
    private readonly db: Database,
    private readonly now: () => number,
  ) {
    this.#insert = db.prepare('INSERT OR REPLACE INTO job_outbox (id, queue, kind, body, run_at, enqueued_at) VALUES (?, ?, ?, ?, ?, ?)');
    this.#delete = db.prepare('DELETE FROM job_outbox WHERE id = ?');
  }

  /** Recorded before BullMQ is asked, so a job Redis accepted is always in the outbox. */
  add(entries: readonly OutboxEntry[]): void {
    const at = this.now();
    this.db.transaction(() => {
      for (const e of entries) this.#insert.run(e.id, e.queue, e.kind, JSON.stringify(e.body), e.runAt, at);
    })();
  }

  remove(ids: readonly string[]): void {
    this.db.transaction(() => {
      for (const id of ids) this.#delete.run(id);
    })();
  }

  size(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM job_outbox').get() as { n: number }).n;
  }

  entries(limit: number, after = ''): OutboxEntry[] {
    const rows = this.db
      .prepare('SELECT id, queue, kind, body, run_at FROM job_outbox WHERE id > ? ORDER BY id LIMIT ?')
      .all(after, limit) as {
      id: string;
      queue: string;
      kind: 'job' | 'flow';
      body: string;
      run_at: number;
    }[];
    return rows.map((r) => ({ id: r.id, queue: r.queue, kind: r.kind, body: JSON.parse(r.body) as unknown, runAt: r.run_at }));
  }

  /**
   * Forgets entries that ended. An entry Redis does not have is forgotten only while Redis still
   * holds the epoch this node knows (it was removed or aged out, not lost); otherwise it is kept for
   * `restore`. Returns how many were forgotten.
   */
  async sweep(stateOf: (e: OutboxEntry) => Promise<OutboxState>, stillSame: () => Promise<boolean>, limit = 200): Promise<number> {
    const batch = this.entries(limit);
    const states = await Promise.all(batch.map(stateOf));
    const gone = batch.filter((_, i) => states[i] === 'gone');
    const drop = batch.filter((_, i) => states[i] === 'ended');
    if (gone.length > 0 && (await stillSame())) drop.push(...gone);
    this.remove(drop.map((e) => e.id));
    return drop.length;
  }

  /** After Redis lost its data: adds again, same id, every entry Redis does not have. Returns their ids. */
  async restore(stateOf: (e: OutboxEntry) => Promise<OutboxState>, readd: (e: OutboxEntry) => Promise<void>): Promise<string[]> {
    const restored: string[] = [];
    let after = '';
    for (;;) {
      const batch = this.entries(200, after);
      if (batch.length === 0) return restored;
      for (const e of batch) {
        if ((await stateOf(e)) !== 'gone') continue;
        await readd(e);
        restored.push(e.id);
      }
      after = (batch[batch.length - 1] as OutboxEntry).id;
    }
  }
}
