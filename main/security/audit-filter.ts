/** What a caller may narrow an audit listing to: one node's chain and the fleet's trail alike. */
export interface AuditFilter {
  readonly actor?: string;
  /** An operation name, or the start of one (`cache` for every cache.* row). */
  readonly action?: string;
  /** A part of the target. */
  readonly target?: string;
  /** ISO instants: at or after, and before. */
  readonly since?: string;
  readonly until?: string;
}

/** The end of the range of strings that start with `prefix`. */
function prefixEnd(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

/** `filter` as SQL conditions over audit rows (`actor`, `action`, `target`, `at`) and their arguments. */
export function auditFilterClauses(filter: AuditFilter): { where: string[]; args: string[] } {
  const where: string[] = [];
  const args: string[] = [];
  if (filter.actor !== undefined) {
    where.push('actor = ?');
    args.push(filter.actor);
  }
  if (filter.action !== undefined) {
    // A prefix (`cache` → cache.put, cache.delete, …) as a range, so the action index still serves it.
    where.push('action >= ? AND action < ?');
    args.push(filter.action, prefixEnd(filter.action));
  }
  if (filter.target !== undefined) {
    where.push('instr(target, ?) > 0');
    args.push(filter.target);
  }
  // `at` is an ISO instant (UTC, milliseconds): compared as text it orders as time does.
  if (filter.since !== undefined) {
    where.push('at >= ?');
    args.push(new Date(filter.since).toISOString());
  }
  if (filter.until !== undefined) {
    where.push('at < ?');
    args.push(new Date(filter.until).toISOString());
  }
  return { where, args };
}
