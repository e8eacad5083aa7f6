import type { EventMessage } from '../../../contract/events';
import type { OperationInput, OperationName, OperationResult } from '../../../contract/operations';
import { closeCodes, RealtimeClient, type MessageFrame } from '../../../main/realtime/client';
import { ClientError, type Client, type ConnectionState, type GraphqlResponse } from './client';
import { postJson, REQUEST_TIMEOUT_MS } from './http-call';
import type { SessionRefusal } from './session-end';

const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 10_000;

/** Exchanges an API key for a session token, so the browser keeps a token that expires, not the key. */
export async function signIn(baseUrl: string, apiKey: string): Promise<{ token: string; expiresAt: string; role: string }> {
  const res = await fetch(`${baseUrl}/api/v2/session`, { method: 'POST', headers: { authorization: `Bearer ${apiKey.trim()}` } });
  const body = (await res.json()) as { token: string; expiresAt: string; role: string } | { error: { code: string; message: string } };
  if ('error' in body) throw new ClientError(body.error.code, body.error.message);
  return body;
}

/**
 * The browser transport: operations over `POST /api/v2/ops/<name>`, events from the real-time hub
 * at `/ws` through its own client (which signs in with a first `auth` frame, since browsers cannot
 * set headers on a WebSocket, and reconnects with backoff when the socket drops).
 */
export class HttpClient implements Client {
  readonly transport = 'http';
  readonly #eventListeners = new Set<(message: EventMessage) => void>();
  readonly #connectionListeners = new Set<(state: ConnectionState) => void>();
  readonly #hub: RealtimeClient;
  #state: ConnectionState = 'connecting';
  /** The hub's last PH_UNAUTHENTICATED error frame: it says why, just before it closes the socket. */
  #refusal: string | undefined;

  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
    private readonly onUnauthenticated: (refusal: SessionRefusal) => void = () => undefined,
    private readonly timeoutMs = REQUEST_TIMEOUT_MS,
  ) {
    this.#hub = new RealtimeClient({
      url: `${baseUrl.replace(/^http/, 'ws')}/ws`,
      token,
      reconnect: { minMs: RECONNECT_MIN_MS, maxMs: RECONNECT_MAX_MS },
    });
    this.#hub.on('open', () => this.#setState('connecting'));
    this.#hub.on('welcome', () => this.#setState('open'));
    this.#hub.on('event', (event, payload) => {
      for (const listener of this.#eventListeners) listener({ event, payload } as EventMessage);
    });
    this.#hub.on('error', (error) => {
      if (error.code === 'PH_UNAUTHENTICATED') this.#refusal = error.message;
    });
    this.#hub.on('close', (code, reason) => {
      this.#setState('closed');
      // 1008: the hub refused the token (expired or revoked); the hub client does not retry it.
      if (code === closeCodes.policy)
        this.onUnauthenticated({ closeReason: reason, ...(this.#refusal === undefined ? {} : { message: this.#refusal }) });
    });
    // Console events come only to connections that ask; the hub client asks again after each reconnect.
    this.#hub.followEvents().catch(() => undefined);
  }

  async call<N extends OperationName>(name: N, input: OperationInput<N>): Promise<OperationResult<N>> {
    const res = await postJson(`${this.baseUrl}/api/v2/ops/${name}`, this.token, input, name, this.timeoutMs);
    if (res.status < 200 || res.status >= 300) {
      const error = (res.body as { error?: { code: string; message: string; field?: string; details?: unknown } } | null)?.error;
      if (res.status === 401) this.onUnauthenticated({ message: error?.message ?? `HTTP ${res.status}` });
      throw new ClientError(error?.code ?? 'PH_INTERNAL', error?.message ?? `HTTP ${res.status}`, error?.field, error?.details);
    }
    return res.body as OperationResult<N>;
  }

  async graphql(query: string, variables: Record<string, unknown>): Promise<GraphqlResponse> {
    const res = await postJson(`${this.baseUrl}/graphql`, this.token, { query, variables }, 'the GraphQL query', this.timeoutMs);
    if (res.status === 401) this.onUnauthenticated({});
    return res;
  }

  onEvent(listener: (message: EventMessage) => void): () => void {
    this.#eventListeners.add(listener);
    return () => this.#eventListeners.delete(listener);
  }

  onConnection(listener: (state: ConnectionState) => void): () => void {
    this.#connectionListeners.add(listener);
    listener(this.#state);
    return () => this.#connectionListeners.delete(listener);
  }

  watchRoom(room: string, listener: (message: MessageFrame) => void): () => void {
    const off = this.#hub.on('message', (frame) => {
      if (frame.room === room) listener(frame);
    });
    // A room the caller may not subscribe to refuses with a coded error; the view still polls history.
    this.#hub.subscribe(room).catch(() => undefined);
    return () => {
      off();
      this.#hub.unsubscribe(room).catch(() => undefined);
    };
  }

  close(): void {
    this.#hub.close();
  }

  #setState(state: ConnectionState): void {
    this.#state = state;
    for (const listener of this.#connectionListeners) listener(state);
  }
}
