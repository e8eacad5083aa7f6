import type { EventMessage } from '../../../contract/events';
import type { OperationInput, OperationName, OperationResult } from '../../../contract/operations';
import { ClientError, type Client, type ConnectionState } from './client';

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
 * The browser transport: operations over `POST /api/v2/ops/<name>`, events over `/ws` (signed in
 * with a first `auth` frame, since browsers cannot set headers on a WebSocket), reconnecting with
 * backoff when the socket drops.
 */
export class HttpClient implements Client {
  readonly transport = 'http';
  readonly #eventListeners = new Set<(message: EventMessage) => void>();
  readonly #connectionListeners = new Set<(state: ConnectionState) => void>();
  #socket: WebSocket | null = null;
  #state: ConnectionState = 'connecting';
  #retryMs = RECONNECT_MIN_MS;
  #closed = false;
  #retryTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
    private readonly onUnauthenticated: () => void = () => undefined,
  ) {
    this.#connect();
  }

  async call<N extends OperationName>(name: N, input: OperationInput<N>): Promise<OperationResult<N>> {
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}/api/v2/ops/${name}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${this.token}` },
        body: JSON.stringify(input ?? {}),
      });
    } catch {
      throw new ClientError('PH_UNAVAILABLE', 'Pilothouse cannot be reached');
    }
    const body = (await res.json().catch(() => null)) as unknown;
    if (!res.ok) {
      const error = (body as { error?: { code: string; message: string; field?: string } } | null)?.error;
      if (res.status === 401) this.onUnauthenticated();
      throw new ClientError(error?.code ?? 'PH_INTERNAL', error?.message ?? `HTTP ${res.status}`, error?.field);
    }
    return body as OperationResult<N>;
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

  close(): void {
    this.#closed = true;
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
    this.#socket?.close();
  }

  #setState(state: ConnectionState): void {
    this.#state = state;
    for (const listener of this.#connectionListeners) listener(state);
  }

  #connect(): void {
    if (this.#closed) return;
    const wsUrl = `${this.baseUrl.replace(/^http/, 'ws')}/ws`;
    const socket = new WebSocket(wsUrl);
    this.#socket = socket;
    this.#setState('connecting');
    socket.addEventListener('open', () => socket.send(JSON.stringify({ type: 'auth', token: this.token })));
    socket.addEventListener('message', (event) => {
      const frame = JSON.parse(String(event.data)) as { type: string } & Partial<EventMessage> & { error?: { code: string } };
      if (frame.type === 'welcome') {
        this.#retryMs = RECONNECT_MIN_MS;
        this.#setState('open');
      } else if (frame.type === 'event' && frame.event !== undefined) {
        for (const listener of this.#eventListeners) listener({ event: frame.event, payload: frame.payload } as EventMessage);
      } else if (frame.type === 'error' && frame.error?.code === 'PH_UNAUTHENTICATED') {
        this.#closed = true;
        this.onUnauthenticated();
      }
    });
    socket.addEventListener('close', () => {
      this.#setState('closed');
      if (this.#closed) return;
      this.#retryTimer = setTimeout(() => this.#connect(), this.#retryMs);
      this.#retryMs = Math.min(this.#retryMs * 2, RECONNECT_MAX_MS);
    });
  }
}
