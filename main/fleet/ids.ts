import { v7 as uuidv7 } from 'uuid';

/**
 * A fleet-unique, time-ordered id (UUIDv7): unique across nodes and across Redis restarts, unlike a
 * counter kept in Redis, and sortable by creation time.
 */
export function newId(): string {
  return uuidv7();
}
