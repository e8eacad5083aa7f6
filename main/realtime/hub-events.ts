import { PhError } from '../../contract/errors';
import { eventNames, events, isEventName, type EventMessage, type EventName } from '../../contract/events';
import { roleAllows } from '../../contract/roles';
import type { Logger } from '../logger';
import type { Lane } from './client/frames';
import type { Connection, SendOptions } from './connection';

/**
 * The console's event stream, as the hub delivers it: this node's events and, with Redis, the
 * cluster-wide ones raised on other nodes, to each connection that follows the event and whose
 * role may see it, and to in-process listeners (the desktop shell's IPC bridge), so the Electron
 * console gets the same stream as a browser on `/ws`.
 */
export class EventFanOut {
  readonly #listeners = new Set<(message: EventMessage) => void>();

  constructor(
    private readonly connections: ReadonlySet<Connection>,
    private readonly logger: Logger,
  ) {}

  subscribe(listener: (message: EventMessage) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Sets what console events a connection follows; answers the names it will get (its role allowing). */
  follow(connection: Connection, names: readonly string[] | undefined): EventName[] {
    names?.forEach((name, i) => {
      if (!isEventName(name))
        throw new PhError('PH_INVALID_INPUT', `There is no console event ${JSON.stringify(name)}`, { field: `events.${i}` });
    });
    const followed = (names ?? eventNames) as readonly EventName[];
    connection.consoleEvents = names === undefined ? 'all' : new Set(followed);
    return followed.filter((name) => roleAllows(connection.caller.role, events[name].minRole));
  }

  anyoneFollows(event: EventName): boolean {
    if (this.#listeners.size > 0) return true;
    for (const connection of this.connections) if (connection.follows(event)) return true;
    return false;
  }

  /** `message` is null for another node's event, which arrives as its encoded frame only. */
  deliver(name: EventName, message: EventMessage | null, frame: Buffer, lane: Lane, key: string): void {
    const minRole = events[name].minRole;
    const options: SendOptions = key === '' ? { lane } : { lane, key };
    for (const connection of this.connections)
      if (connection.follows(name) && roleAllows(connection.caller.role, minRole)) connection.send(frame, options);
    if (this.#listeners.size === 0) return;
    let parsed = message;
    if (parsed === null) {
      const { event, payload } = JSON.parse(frame.toString('utf8')) as EventMessage;
      parsed = { event, payload } as EventMessage;
    }
    for (const listener of this.#listeners) {
      try {
        listener(parsed);
      } catch (err) {
        this.logger.warn({ err }, 'realtime: an event listener failed');
      }
    }
  }
}
