import type { EventMessage, EventName, EventPayload } from '../../contract/events';

type Listener = (message: EventMessage) => void;

/**
 * The in-process stream of contract events. Services publish; transports (IPC, the `/ws` socket)
 * subscribe and forward to the clients whose role allows each event. A listener that throws is
 * reported to `onListenerError` and never breaks the publisher or the other listeners.
 */
export class EventBus {
  readonly #listeners = new Set<Listener>();

  constructor(private readonly onListenerError: (err: unknown) => void = () => undefined) {}

  publish<N extends EventName>(event: N, payload: EventPayload<N>): void {
    const message = { event, payload } as EventMessage;
    for (const listener of this.#listeners) {
      try {
        listener(message);
      } catch (err) {
        this.onListenerError(err);
      }
    }
  }

  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get listenerCount(): number {
    return this.#listeners.size;
  }
}
