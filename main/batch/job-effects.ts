import type { Database } from 'better-sqlite3';

/**
 * `ctx.once(step, fn)` for either queue: runs `fn` against the app database and records that it
 * ran under `effectKey`, in one transaction, so a job re-run after a crash gets the first result
 * back instead of repeating the effect.
 */
export function runOnce<T>(db: Database, effectKey: string, now: number, fn: (db: Database) => T): T {
  return db.transaction(() => {
    const done = db.prepare('SELECT result FROM job_effects WHERE effect_key = ?').get(effectKey) as { result: string | null } | undefined;
    if (done !== undefined) return (done.result === null ? undefined : JSON.parse(done.result)) as T;
    const result = fn(db);
    db.prepare('INSERT INTO job_effects (effect_key, result, at) VALUES (?, ?, ?)').run(
      effectKey,
      result === undefined ? null : JSON.stringify(result),
      now,
    );
    return result;
  })();
}

/** A handler's progress as stored: a number in 0..1 whatever it passed. */
export function clampProgress(fraction: number): number {
  return Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
}
