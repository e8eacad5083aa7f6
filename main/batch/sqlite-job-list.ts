import type { Database } from 'better-sqlite3';
import { PhError } from '../../contract/errors';
import type { JobFilter } from './job-types';
import type { JobRow } from './sqlite-job-row';

export interface JobRowPage {
  rows: JobRow[];
  /** Every row the filters match, on every page. */
  total: number;
  /** The last row's id when more rows follow it. */
  nextCursor: string | null;
}

/**
 * One page of the SQLite queue's jobs. Pages are keyset (the cursor is the last id seen), so a deep
 * page costs what the first does; the indexes of batch migration 4 serve the state, type and time filters.
 */
export function listJobRows(db: Database, filter: JobFilter, now: number): JobRowPage {
  const where: string[] = [];
  const args: (string | number)[] = [];
  if (filter.type !== undefined) {
    where.push('type = ?');
    args.push(filter.type);
  }
  if (filter.parentId !== undefined) {
    where.push('parent_id = ?');
    args.push(Number(filter.parentId));
  }
  if (filter.state === 'delayed') {
    where.push("state = 'waiting' AND run_at > ?");
    args.push(now);
  } else if (filter.state === 'waiting') {
    where.push("state = 'waiting' AND run_at <= ?");
    args.push(now);
  } else if (filter.state !== undefined) {
    where.push('state = ?');
    args.push(filter.state);
  }
  if (filter.parentIds !== undefined) {
    where.push(`parent_id IN (${filter.parentIds.map(() => '?').join(', ')})`);
    args.push(...filter.parentIds.map(Number));
  }
  if (filter.search !== undefined) {
    // An id (this backend's ids are integers), an idempotency key, or a part of the type.
    const asId = /^\d{1,15}$/.test(filter.search) ? Number(filter.search) : -1;
    where.push('(id = ? OR idempotency_key = ? OR instr(type, ?) > 0)');
    args.push(asId, filter.search, filter.search);
  }
  if (filter.createdAfter !== undefined) {
    where.push('created_at >= ?');
    args.push(Date.parse(filter.createdAfter));
  }
  if (filter.createdBefore !== undefined) {
    where.push('created_at < ?');
    args.push(Date.parse(filter.createdBefore));
  }
  const total = (db.prepare(`SELECT count(*) AS n FROM jobs ${clause(where)}`).get(...args) as { n: number }).n;

  if (filter.parentIds !== undefined) {
    // Several parents at once: the newest `limit` children of each, in one statement (no further page).
    const rows = db
      .prepare(
        `SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY parent_id ORDER BY id DESC) AS nth FROM jobs ${clause(where)})
           WHERE nth <= ? ORDER BY id DESC`,
      )
      .all(...args, filter.limit ?? 50) as JobRow[];
    return { rows, total, nextCursor: null };
  }
  const oldest = filter.sort === 'oldest';
  if (filter.cursor !== undefined) {
    if (!/^\d{1,15}$/.test(filter.cursor))
      throw new PhError('PH_INVALID_INPUT', 'The cursor is not one this list gave', { field: 'cursor' });
    where.push(oldest ? 'id > ?' : 'id < ?');
    args.push(Number(filter.cursor));
  }
  const limit = filter.limit ?? 50;
  const rows = db
    .prepare(`SELECT * FROM jobs ${clause(where)} ORDER BY id ${oldest ? 'ASC' : 'DESC'} LIMIT ? OFFSET ?`)
    .all(...args, limit + 1, filter.offset ?? 0) as JobRow[];
  const more = rows.length > limit;
  if (more) rows.length = limit;
  return { rows, total, nextCursor: more ? String((rows[rows.length - 1] as JobRow).id) : null };
}

function clause(where: readonly string[]): string {
  return where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
}
