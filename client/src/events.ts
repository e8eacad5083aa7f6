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

  constructor(private readonly realtime: () => RealtimeClient) {}

  /** Calls `listener` with each `name` event from now on; resolves once the socket follows it. */
  async on<N extends EventName>(name: N, listener: Listener<N>): Promise<() => void> {
    const set = this.#listeners.get(name) ?? new Set();
    set.add(listener as (payload: unknown) => void);
    this.#listeners.set(name, set);
    if (!this.#followed.has(name)) {
      if (this.#followed.size === 0) this.realtime().on('event', (event, payload) => this.#deliver(event, payload));
      this.#followed.add(name);
      const names = [...this.#followed];
      this.#following = this.#following.then(() => this.realtime().followEvents(names));
    }
    await this.#following;
    return () => set.delete(listener as (payload: unknown) => void);
  }

  #deliver(event: string, payload: unknown): void {
    for (const listener of this.#listeners.get(event) ?? []) listener(payload);
  }
}
