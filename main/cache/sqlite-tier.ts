import type { Database, Statement } from 'better-sqlite3';
import { PhError, faultOf } from '../../contract/errors';
import type { Clock } from '../clock';
import type { CacheEntry } from './entry';

export type StoredEntry = Omit<CacheEntry, 'value'>;

export interface SqliteTierOptions {
  readonly maxBytes: number;
  readonly maxEntries: number;
  readonly flushMs: number;
}

interface Row {
  value: Buffer;
  fresh_until: number;
  stale_until: number;
  created_at: number;
  tags: string;
}

const SEP = '\u0000';
/** Longest wait between retries of a flush that failed (a full disk frees up on its own schedule). */
const MAX_RETRY_MS = 5000;
/**
 * How long background work (the write-behind, maintenance) waits for another connection's write
 * lock, where the database's own busy timeout is 5 s: better-sqlite3 waits on the main thread, and
 * another program holding a write lock on pilothouse.db froze the node (a /healthz of 3954 ms).
 * Busy past it, the work fails, the tier is degraded, and the queue is kept for the next try.
 */
const BACKGROUND_BUSY_MS = 20;

/** Why the write-behind could not flush, and how much it holds in memory meanwhile. */
export interface FlushFailure {
  readonly code: string;
  readonly message: string;
  readonly since: number;
  readonly held: number;
}

/**
 * L3: the app's SQLite database, one row per entry. Writes are queued and flushed in one
 * transaction every `flushMs` (write-behind), so a burst of sets costs one commit, not one each;
 * reads look at the queue first, so a value is readable the moment it is written. Bounded by size:
 * `maintain()` drops expired rows, then the least recently used, until under the limits.
 */
export class SqliteTier {
  readonly #pending = new Map<string, { ns: string; key: string; entry: StoredEntry | null }>();
  readonly #touched = new Map<string, { ns: string; key: string }>();
  #timer: NodeJS.Timeout | null = null;
  #closed = false;
  #failure: { code: string; message: string; since: number } | null = null;
  #retryMs = 0;
  readonly #get: Statement;
  readonly #upsert: Statement;
  readonly #delete: Statement;
  readonly #touch: Statement;

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly options: SqliteTierOptions,
  ) {
    this.#get = db.prepare('SELECT value, fresh_until, stale_until, created_at, tags FROM cache_entries WHERE namespace = ? AND key = ?');
    this.#upsert =
      db.prepare(`INSERT INTO cache_entries (namespace, key, value, fresh_until, stale_until, created_at, tags, size, accessed_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, fresh_until = excluded.fresh_until,
        stale_until = excluded.stale_until, created_at = excluded.created_at, tags = excluded.tags, size = excluded.size,
        accessed_at = excluded.accessed_at`);
    this.#delete = db.prepare('DELETE FROM cache_entries WHERE namespace = ? AND key = ?');
    this.#touch = db.prepare('UPDATE cache_entries SET accessed_at = ? WHERE namespace = ? AND key = ?');
  }

  get(ns: string, key: string): StoredEntry | null {
    const id = ns + SEP + key;
    const pending = this.#pending.get(id);
    if (pending !== undefined) return pending.entry;
    if (this.#closed) return null;
    const row = this.#get.get(ns, key) as Row | undefined;
    if (row === undefined) return null;
    if (row.stale_until <= this.clock.now()) return null;
    this.#touched.set(id, { ns, key });
    this.#schedule();
    return {
      bytes: row.value,
      freshUntil: row.fresh_until,
      staleUntil: row.stale_until,
      createdAt: row.created_at,
      tags: JSON.parse(row.tags) as string[],
    };
  }

  /**
   * Queues a write. While flushes fail on a full disk, new writes are refused (PH_DISK_FULL) rather
   * than acknowledged into a queue that may never reach the disk; those already queued are kept.
   */
  set(ns: string, key: string, entry: StoredEntry): void {
    if (this.#closed) return;
    if (this.#failure?.code === 'PH_DISK_FULL')
      throw new PhError('PH_DISK_FULL', `The cache cannot store ${ns}/${key}: the disk is full`, { details: { held: this.#pending.size } });
    this.#pending.set(ns + SEP + key, { ns, key, entry });
    this.#schedule();
  }

  /** Like `set`, for copies of values that live elsewhere (L2 fills): skipped while flushes fail. */
  fill(ns: string, key: string, entry: StoredEntry): void {
    if (this.#failure === null) this.set(ns, key, entry);
  }

  /** Set while the last flush failed: what went wrong and how many writes wait in memory. */
  get failure(): FlushFailure | null {
    return this.#failure === null ? null : { ...this.#failure, held: this.#pending.size };
  }

  delete(ns: string, keys: readonly string[]): void {
    if (this.#closed) return;
    for (const key of keys) this.#pending.set(ns + SEP + key, { ns, key, entry: null });
    this.#schedule();
  }

  /** Drops every entry of `ns` carrying any of `tags`; returns how many rows went. */
  deleteTags(ns: string, tags: readonly string[]): number {
    if (this.#closed) return 0;
    this.flush();
    const run = this.db.prepare(
      `DELETE FROM cache_entries WHERE namespace = ? AND EXISTS (SELECT 1 FROM json_each(cache_entries.tags) WHERE json_each.value IN (SELECT value FROM json_each(?)))`,
    );
    return run.run(ns, JSON.stringify(tags)).changes;
  }

  /** Drops one namespace, or every entry when `ns` is null. */
  clear(ns: string | null): number {
    if (this.#closed) return 0;
    for (const [id, p] of this.#pending) if (ns === null || p.ns === ns) this.#pending.delete(id);
    for (const [id, p] of this.#touched) if (ns === null || p.ns === ns) this.#touched.delete(id);
    const result =
      ns === null
        ? this.db.prepare('DELETE FROM cache_entries').run()
        : this.db.prepare('DELETE FROM cache_entries WHERE namespace = ?').run(ns);
    return result.changes;
  }

  /** Every live key of a namespace starting with `prefix`, in key order (a range of the primary key). */
  keyNames(ns: string, prefix: string): string[] {
    this.#flushForRead();
    return this.db
      .prepare('SELECT key FROM cache_entries WHERE namespace = ? AND key >= ? AND key < ? AND stale_until > ? ORDER BY key')
      .pluck()
      .all(ns, prefix, prefix + '\uffff', this.clock.now()) as string[];
  }

  /** Size, freshness and tags of the given live keys of a namespace (those absent are left out). */
  entries(ns: string, keys: readonly string[]): { key: string; size: number; freshUntil: number; tags: string[] }[] {
    if (keys.length === 0) return [];
    this.#flushForRead();
    const rows = this.db
      .prepare(
        `SELECT key, size, fresh_until, tags FROM cache_entries
         WHERE namespace = ? AND key IN (SELECT value FROM json_each(?)) AND stale_until > ?`,
      )
      .all(ns, JSON.stringify(keys), this.clock.now()) as { key: string; size: number; fresh_until: number; tags: string }[];
    return rows.map((r) => ({ key: r.key, size: r.size, freshUntil: r.fresh_until, tags: JSON.parse(r.tags) as string[] }));
  }

  /** The largest live entries, for analytics. */
  largest(limit: number): { namespace: string; key: string; size: number }[] {
    this.#flushForRead();
    return this.db
      .prepare('SELECT namespace, key, size FROM cache_entries WHERE stale_until > ? ORDER BY size DESC LIMIT ?')
      .all(this.clock.now(), limit) as { namespace: string; key: string; size: number }[];
  }

  /** The most recently used live entries of a namespace: the hot set brought back after a restart. */
  recent(ns: string, limit: number): string[] {
    this.#flushForRead();
    return (
      this.db
        .prepare('SELECT key FROM cache_entries WHERE namespace = ? AND stale_until > ? ORDER BY accessed_at DESC LIMIT ?')
        .all(ns, this.clock.now(), limit) as { key: string }[]
    ).map((r) => r.key);
  }

  usage(): { entries: number; bytes: number } {
    if (this.#closed) return { entries: 0, bytes: 0 };
    const row = this.db.prepare('SELECT count(*) AS n, coalesce(sum(size), 0) AS b FROM cache_entries').get() as { n: number; b: number };
    return { entries: row.n, bytes: row.b };
  }

  /**
   * Writes the queue in one transaction. When that fails (a full disk, a read-only file) nothing
   * queued is dropped: the queue stays for the next attempt, the failure is kept for health, and
   * the error is thrown to the caller as its catalogue code.
   */
  flush(): void {
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    if (this.#closed || (this.#pending.size === 0 && this.#touched.size === 0)) return;
    try {
      this.#write();
    } catch (err) {
      const fault = faultOf(err) ?? new PhError('PH_INTERNAL', (err as Error).message);
      this.#failure = { code: fault.code, message: fault.message, since: this.#failure?.since ?? this.clock.now() };
      this.#retryMs = Math.min(MAX_RETRY_MS, Math.max(this.options.flushMs, this.#retryMs * 2));
      this.#schedule(this.#retryMs);
      throw fault;
    }
    this.#failure = null;
    this.#retryMs = 0;
  }

  #write(): void {
    const pending = [...this.#pending.values()];
    const touched = [...this.#touched.values()];
    const now = this.clock.now();
    this.db.transaction(() => {
      for (const { ns, key, entry } of pending) {
        if (entry === null) this.#delete.run(ns, key);
        else {
          this.#upsert.run(
            ns,
            key,
            entry.bytes,
            Math.round(entry.freshUntil),
            Math.round(entry.staleUntil),
            Math.round(entry.createdAt),
            JSON.stringify(entry.tags),
            entry.bytes.length,
            now,
          );
        }
      }
      for (const { ns, key } of touched) this.#touch.run(now, ns, key);
    })();
    // Only once committed: a failed transaction leaves the queue as it was.
    this.#pending.clear();
    this.#touched.clear();
  }

  /**
   * Drops expired rows, then the least recently used ones until under 90% of each bound. Background
   * work: it waits at most BACKGROUND_BUSY_MS for another connection's lock, and throws when busy.
   */
  maintain(): { expired: number; evicted: number } {
    if (this.#closed) return { expired: 0, evicted: 0 };
    return this.#briefly(() => this.#maintain());
  }

  #maintain(): { expired: number; evicted: number } {
    this.flush();
    const expired = this.db.prepare('DELETE FROM cache_entries WHERE stale_until <= ?').run(this.clock.now()).changes;
    let evicted = 0;
    const { entries, bytes } = this.usage();
    if (entries > this.options.maxEntries || bytes > this.options.maxBytes) {
      const targetEntries = Math.floor(this.options.maxEntries * 0.9);
      const targetBytes = Math.floor(this.options.maxBytes * 0.9);
      // Walk from the least recently used, summing sizes, to find the cut-off in one pass.
      const rows = this.db
        .prepare('SELECT namespace, key, size FROM cache_entries ORDER BY accessed_at ASC')
        .iterate() as IterableIterator<{ namespace: string; key: string; size: number }>;
      let n = entries;
      let b = bytes;
      const victims: { namespace: string; key: string }[] = [];
      for (const row of rows) {
        if (n <= targetEntries && b <= targetBytes) break;
        victims.push(row);
        n -= 1;
        b -= row.size;
      }
      this.db.transaction(() => {
        for (const v of victims) this.#delete.run(v.namespace, v.key);
      })();
      evicted = victims.length;
    }
    return { expired, evicted };
  }

  loadGenerations(): Map<string, number> {
    const rows = this.db.prepare('SELECT namespace, generation FROM cache_generations').all() as {
      namespace: string;
      generation: number;
    }[];
    return new Map(rows.map((r) => [r.namespace, r.generation]));
  }

  /** Background work as `maintain`: throws when another connection holds the lock. */
  saveGenerations(gens: ReadonlyMap<string, number>): void {
    if (this.#closed) return;
    this.#briefly(() => this.#saveGenerations(gens));
  }

  #saveGenerations(gens: ReadonlyMap<string, number>): void {
    const put = this.db.prepare(
      'INSERT INTO cache_generations (namespace, generation) VALUES (?, ?) ON CONFLICT (namespace) DO UPDATE SET generation = excluded.generation',
    );
    this.db.transaction(() => {
      for (const [ns, gen] of gens) put.run(ns, gen);
    })();
  }

  /** Flushes a last time; returns how many queued writes could not be written (and are lost). */
  close(): number {
    let lost = 0;
    try {
      this.flush();
    } catch {
      lost = this.#pending.size;
    }
    this.#closed = true;
    return lost;
  }

  /**
   * Before a read of the table: the queue written if the lock can be had at once. Otherwise the
   * read goes on without what is queued (those keys are in L1), rather than wait out the lock.
   */
  #flushForRead(): void {
    try {
      this.#briefly(() => this.flush());
    } catch {
      // Kept in `failure` for health; flush() has scheduled the retry.
    }
  }

  /** Runs `work` with a short busy timeout (BACKGROUND_BUSY_MS) on the shared connection, then restores it. */
  #briefly<T>(work: () => T): T {
    const previous = this.db.pragma('busy_timeout', { simple: true }) as number;
    this.db.pragma(`busy_timeout = ${BACKGROUND_BUSY_MS}`);
    try {
      return work();
    } finally {
      this.db.pragma(`busy_timeout = ${previous}`);
    }
  }

  #schedule(delayMs = this.options.flushMs): void {
    if (this.#timer !== null || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      try {
        this.#briefly(() => this.flush());
      } catch {
        // Kept in `failure` for health; flush() has already scheduled the retry.
      }
    }, delayMs);
    this.#timer.unref();
  }
}
