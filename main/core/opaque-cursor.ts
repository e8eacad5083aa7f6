import { PhError } from '../../contract/errors';

/**
 * A list's cursor as callers see it: the fields of the last row's place in the list's order,
 * opaque (base64url of a JSON array), so a list can change what it keys on without a new API.
 */
export function encodeCursor(parts: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(parts)).toString('base64url');
}

/**
 * What `read` makes of the fields `encodeCursor` packed, if `text` holds `count` of them and `read` accepts them; else
 * the coded refusal of a cursor the list did not give (`field: "cursor"`).
 */
export function decodeCursor<T>(text: string, count: number, read: (parts: readonly unknown[]) => T | null): T {
  let parts: unknown;
  try {
    parts = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    parts = null;
  }
  const value = Array.isArray(parts) && parts.length === count ? read(parts) : null;
  if (value === null) throw new PhError('PH_INVALID_INPUT', 'The cursor is not one this list gave', { field: 'cursor' });
  return value;
}
