import type { RealtimeClient } from '../../main/realtime/client';
import type { EventName, EventTypes } from './generated/contract';

type Listener<N extends EventName> = (payload: EventTypes[N]) => void;

/**
 * The server's events over the hub's socket, by name. The socket follows the union of the names
 * anyone listens to (the hub sends nothing else), and follows them again after a reconnect.
 */
export class EventFeed {
  readonly #listeners = new Map<string, Set<(payload: unknown) => void>>();
  readonly #followed = new Set<string>();
  #following: Promise<unknown> = Promise.resolve();
  #attached = false;

  constructor(private readonly realtime: () => RealtimeClient) {}

  /**
   * Calls `listener` with each `name` event from now on; resolves once the socket follows it. A
   * refusal (an event the key may not follow, the hub not answering) rejects this call and leaves
   * the feed as it was, so later calls are not refused for it.
   */
  async on<N extends EventName>(name: N, listener: Listener<N>): Promise<() => void> {
    const set = this.#listeners.get(name) ?? new Set();
    const own = listener as (payload: unknown) => void;
    set.add(own);
    this.#listeners.set(name, set);
    if (!this.#attached) {
      this.realtime().on('event', (event, payload) => this.#deliver(event, payload));
      this.#attached = true;
    }
    if (this.#followed.has(name)) {
      await this.#following.catch(() => undefined);
    } else {
      this.#followed.add(name);
      const names = [...this.#followed];
      const follow = this.#following.catch(() => undefined).then(() => this.realtime().followEvents(names));
      this.#following = follow;
      try {
        await follow;
      } catch (err) {
        this.#followed.delete(name);
        set.delete(own);
        if (set.size === 0) this.#listeners.delete(name);
        throw err;
      }
    }
    return () => set.delete(own);
  }

  #deliver(event: string, payload: unknown): void {
    for (const listener of this.#listeners.get(event) ?? []) listener(payload);
  }
}
