import type { EventMessage } from '../../contract/events';
import type { Caller } from '../core';
import type { Loaders } from './loaders';
import type { RateDecision } from '../ratelimit';

/** What every resolver is handed: who is asking, the one door, per-request loaders and the event stream. */
export interface GraphqlContext {
  readonly caller: Caller;
  /** `OperationDispatcher.call` for this caller: validation, role, audit, as REST and IPC. */
  readonly call: (operation: string, input: unknown) => Promise<unknown>;
  readonly loaders: Loaders;
  /** The console's event stream (this node's events and, with Redis, the fleet's); subscriptions read it. */
  readonly events: EventSource;
  /** Follows a room for this caller (its rules checked), as the hub's clients do; subscriptions read it. */
  readonly rooms: RoomSource;
}

export type EventSource = (listener: (message: EventMessage) => void) => () => void;
export type RoomSource = (caller: Caller, room: string, listener: (message: unknown) => void) => Promise<() => void>;
/** Counts extra requests against a caller's rate limit; `allowed` false when the budget is spent. */
export type Charge = (caller: Caller, points: number) => Promise<RateDecision>;
