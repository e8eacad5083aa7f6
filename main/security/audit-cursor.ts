import { decodeCursor, encodeCursor } from '../core';

/**
 * Where a fleet audit page ended: the last row's place in the list's order (time, then node, then
 * seq). Rows share a millisecond often enough (a burst of writes, several nodes at once) that the
 * time alone would skip the rest of that millisecond; the three together name one row.
 */
export interface AuditCursor {
  readonly at: string;
  /** The chain's node; '' for this node's own rows on a single machine. */
  readonly node: string;
  readonly seq: number;
}

const AT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const NODE = /^[A-Za-z0-9._-]{0,64}$/;

/** Opaque to callers: a page's `nextCursor`, passed back as `cursor`. */
export function encodeAuditCursor(cursor: AuditCursor): string {
  return encodeCursor([cursor.at, cursor.node, cursor.seq]);
}

export function decodeAuditCursor(text: string): AuditCursor {
  return decodeCursor(text, 3, ([at, node, seq]) =>
    typeof at === 'string' &&
    AT.test(at) &&
    typeof node === 'string' &&
    NODE.test(node) &&
    Number.isSafeInteger(seq) &&
    (seq as number) >= 1
      ? { at, node, seq: seq as number }
      : null,
  );
}
