import { PhError } from '../../contract/errors';
import type { Caller } from './caller';

/**
 * Open sockets per API key below admin, for one door (the hub, GraphQL's subscriptions): one viewer
 * or operator key could otherwise open sockets until the node's memory or file descriptors ran out.
 * Admin keys and the console's own session (no key) are not counted, as their tier is unlimited too.
 */
export class KeyConnections {
  readonly #open = new Map<string, number>();

  constructor(private readonly max: number) {}

  /** Counts a new connection of `caller` in, or answers why it may not open. */
  enter(caller: Caller): PhError | null {
    const key = counted(caller);
    if (key === null) return null;
    const open = this.#open.get(key) ?? 0;
    if (open >= this.max)
      return new PhError(
        'PH_REALTIME_TOO_MANY_CONNECTIONS',
        `A ${caller.role} key may hold ${this.max} connections to this node at once; close one, or share one connection`,
      );
    this.#open.set(key, open + 1);
    return null;
  }

  leave(caller: Caller): void {
    const key = counted(caller);
    if (key === null) return;
    const open = (this.#open.get(key) ?? 1) - 1;
    if (open <= 0) this.#open.delete(key);
    else this.#open.set(key, open);
  }
}

const counted = (caller: Caller): string | null => (caller.keyId === null || caller.role === 'admin' ? null : caller.keyId);
