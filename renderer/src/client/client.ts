import type { EventMessage } from '../../../contract/events';
import type { MessageFrame } from '../../../main/realtime/client';
import type { OperationInput, OperationName, OperationResult } from '../../../contract/operations';

/** A failed call as the console sees it: the catalogue code and message, whatever the transport. */
export class ClientError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly field?: string,
    /** The server's `error.details`, e.g. `{ tier, retryAfterSeconds }` of a PH_RATE_LIMITED. */
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ClientError';
  }

  /** Seconds until a refused call may be made again (a rate limit's `details.retryAfterSeconds`), or null. */
  get retryAfterSeconds(): number | null {
    const wait = (this.details as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds;
    return typeof wait === 'number' && wait >= 0 ? wait : null;
  }
}

export type ConnectionState = 'connecting' | 'open' | 'closed';

export interface GraphqlResponse {
  readonly status: number;
  readonly body: unknown;
}

/**
 * The one interface every view uses. Inside Electron it rides IPC; in a browser, HTTP for calls and
 * a WebSocket for events. Views never know which.
 */
export interface Client {
  readonly transport: 'ipc' | 'http';
  call<N extends OperationName>(name: N, input: OperationInput<N>): Promise<OperationResult<N>>;
  onEvent(listener: (message: EventMessage) => void): () => void;
  onConnection(listener: (state: ConnectionState) => void): () => void;
  /**
   * Follows a room's messages live through the real-time hub (subscribing as the signed-in caller).
   * Absent where the console has no hub connection of its own (IPC), where views poll history.
   */
  watchRoom?(room: string, listener: (message: MessageFrame) => void): () => void;
  /**
   * Runs a GraphQL document at `/graphql` as the signed-in caller and answers the GraphQL response
   * (`data`, `errors`), whatever its status. Absent inside Electron, which talks IPC, not HTTP.
   */
  graphql?(query: string, variables: Record<string, unknown>): Promise<GraphqlResponse>;
  close(): void;
}
