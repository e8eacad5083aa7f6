import { createHash, createHmac } from 'node:crypto';

/** The `prev_hash` of the first row. */
export const GENESIS = '0'.repeat(64);

/** The fields of an audit row that its hash covers. */
export interface ChainedFields {
  readonly seq: number;
  readonly at: string;
  readonly actor: string;
  readonly action: string;
  readonly target: string | null;
  readonly outcome: 'ok' | 'error';
  readonly detail: string | null;
}

/**
 * A row's hash: HMAC-SHA-256 with the audit key over the previous row's hash and the row's fields,
 * so nobody without the key (which is not in the database) can recompute the chain after an edit.
 * `key` null gives the unkeyed SHA-256 of rows written before the audit key existed.
 */
export function chainHash(key: Buffer | null, prev: string, row: ChainedFields): string {
  const body = JSON.stringify([row.seq, row.at, row.actor, row.action, row.target, row.outcome, row.detail]);
  const hash = key === null ? createHash('sha256') : createHmac('sha256', key);
  return hash.update(prev).update('\n').update(body).digest('hex');
}
