import { Type } from '@sinclair/typebox';
import type { Database } from 'better-sqlite3';
import type { Redis } from 'ioredis';
import type { FleetSeal } from '../fleet';

/** A job's result, as the node that ran it recorded it. */
export interface StoredResult {
  readonly id: string;
  readonly type: string;
  readonly node: string;
  readonly result: unknown;
  readonly finishedAt: number;
}

const StoredResultSchema = Type.Object({
  id: Type.String(),
  type: Type.String(),
  node: Type.String(),
  result: Type.Unknown(),
  finishedAt: Type.Number(),
});
/** The fleet seal's kind for a result kept in Redis (read by any node; a forged one reads as absent). */
const RESULT = 'jobs.result';

const key = (prefix: string, id: string): string => `${prefix}:jobs:result:${id}`;

/**
 * Results of the jobs this node ran. The node's SQLite is the durable copy and the guard against a
 * second run of the same job id (a re-run returns the first result instead of acting again); Redis
 * holds a copy as long, so that any node can read a result after BullMQ has let the job go, and it
 * is re-published after Redis comes back empty. Both are kept `keepMs`: the longer of the job
 * history's windows (config `retention`, 7 days by default), so the guard outlives the job's record.
 */
export class JobResults {
  constructor(
    private readonly db: Database,
    private readonly redis: Redis,
    private readonly seal: FleetSeal,
    private readonly node: string,
    private readonly prefix: string,
    private readonly now: () => number,
    private readonly keepMs: number,
  ) {}

  /** The result of a run of `id` that completed on this node, if one did. */
  local(id: string): { result: unknown } | undefined {
    const row = this.db.prepare('SELECT result FROM job_results WHERE id = ?').get(id) as { result: string | null } | undefined;
    return row === undefined ? undefined : { result: row.result === null ? null : (JSON.parse(row.result) as unknown) };
  }

  async record(id: string, type: string, result: unknown): Promise<void> {
    const at = this.now();
    const text = result === undefined ? null : JSON.stringify(result);
    this.db.prepare('INSERT OR REPLACE INTO job_results (id, type, result, finished_at) VALUES (?, ?, ?, ?)').run(id, type, text, at);
    this.db.prepare('DELETE FROM job_results WHERE finished_at < ?').run(at - this.keepMs);
    await this.#publish([{ id, type, node: this.node, result: result ?? null, finishedAt: at }]).catch(() => undefined);
  }

  /**
   * Publishes a result this node already holds again: a node killed between recording a result and
   * publishing it runs the job once more, and that run (a lookup, not an effect) shares it.
   */
  async reshare(id: string): Promise<void> {
    const row = this.db.prepare('SELECT type, result, finished_at FROM job_results WHERE id = ?').get(id) as
      { type: string; result: string | null; finished_at: number } | undefined;
    if (row === undefined) return;
    const result = row.result === null ? null : (JSON.parse(row.result) as unknown);
    await this.#publish([{ id, type: row.type, node: this.node, result, finishedAt: row.finished_at }]);
  }

  /** From Redis (any node's), else from this node's own record. */
  async fetch(id: string): Promise<StoredResult | null> {
    const redisKey = key(this.prefix, id);
    const text = await this.redis.get(redisKey).catch(() => null);
    const shared = text === null ? null : this.seal.openJson(RESULT, redisKey, text, StoredResultSchema, false);
    if (shared !== null && shared.value.node === shared.node && shared.value.id === id) return shared.value;
    const row = this.db.prepare('SELECT type, result, finished_at FROM job_results WHERE id = ?').get(id) as
      { type: string; result: string | null; finished_at: number } | undefined;
    if (row === undefined) return null;
    return {
      id,
      type: row.type,
      node: this.node,
      result: row.result === null ? null : JSON.parse(row.result),
      finishedAt: row.finished_at,
    };
  }

  /** Publishes this node's results still kept again (after Redis lost them). */
  async republish(): Promise<number> {
    const rows = this.db
      .prepare('SELECT id, type, result, finished_at FROM job_results WHERE finished_at >= ?')
      .all(this.now() - this.keepMs) as {
      id: string;
      type: string;
      result: string | null;
      finished_at: number;
    }[];
    await this.#publish(
      rows.map((r) => ({
        id: r.id,
        type: r.type,
        node: this.node,
        result: r.result === null ? null : JSON.parse(r.result),
        finishedAt: r.finished_at,
      })),
    );
    return rows.length;
  }

  async #publish(results: readonly StoredResult[]): Promise<void> {
    if (results.length === 0) return;
    const multi = this.redis.multi();
    for (const r of results) {
      const redisKey = key(this.prefix, r.id);
      multi.set(redisKey, this.seal.seal(RESULT, redisKey, JSON.stringify(r)), 'PX', Math.max(1, r.finishedAt + this.keepMs - this.now()));
    }
    await multi.exec();
  }
}
