import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { events } from '../../contract/events';
import { PhError, toErrorBody } from '../../contract/errors';
import { roleAllows } from '../../contract/roles';
import type { EventBus } from '../events/event-bus';
import type { Logger } from '../logger';
import { Authenticator } from '../security/authenticator';
import type { Caller } from '../security/caller';

export const EVENT_SOCKET_PATH = '/ws';
const AUTH_DEADLINE_MS = 5_000;
const PING_INTERVAL_MS = 15_000;
const MAX_PAYLOAD_BYTES = 64 * 1024;
/** Past this many queued bytes a client is too slow to follow; it is closed rather than buffered without end. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

/** Close code 1012 (service restart) tells clients to reconnect, here or to another node. */
const CLOSE_RESTART = 1012;
const CLOSE_POLICY = 1008;

interface Client {
  caller: Caller;
  alive: boolean;
}

/**
 * The console's event stream at `/ws`, sharing the HTTP port. A client authenticates with an
 * `Authorization: Bearer` header on the upgrade, or (browsers cannot set headers there) with a first
 * frame `{"type":"auth","token":"..."}` within 5 s. It then receives every contract event its role
 * allows as `{"type":"event","event":...,"payload":...}`. Errors are coded frames.
 */
export class EventSocket {
  readonly #wss = new WebSocketServer({ noServer: true, maxPayload: MAX_PAYLOAD_BYTES, perMessageDeflate: false });
  readonly #clients = new Map<WebSocket, Client>();
  #unsubscribe: (() => void) | null = null;
  #pinger: NodeJS.Timeout | null = null;

  constructor(
    private readonly auth: Authenticator,
    private readonly bus: EventBus,
    private readonly logger: Logger,
  ) {}

  attach(server: { on(event: 'upgrade', cb: (req: IncomingMessage, socket: Duplex, head: Buffer) => void): void }): void {
    server.on('upgrade', (req, socket, head) => {
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      if (path !== EVENT_SOCKET_PATH) {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
        return;
      }
      this.#wss.handleUpgrade(req, socket, head, (ws) => void this.#accept(ws, req));
    });
    this.#unsubscribe = this.bus.subscribe((message) => {
      const minRole = events[message.event].minRole;
      const frame = JSON.stringify({ type: 'event', ...message });
      for (const [ws, client] of this.#clients) {
        if (!roleAllows(client.caller.role, minRole)) continue;
        if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
          ws.close(CLOSE_POLICY, 'too slow');
          continue;
        }
        ws.send(frame);
      }
    });
    this.#pinger = setInterval(() => this.#heartbeat(), PING_INTERVAL_MS);
    this.#pinger.unref();
  }

  get clientCount(): number {
    return this.#clients.size;
  }

  /** Tells every client to reconnect (elsewhere, or here after restart) and stops accepting. */
  close(): void {
    this.#unsubscribe?.();
    if (this.#pinger !== null) clearInterval(this.#pinger);
    for (const ws of this.#wss.clients) ws.close(CLOSE_RESTART, 'server stopping');
    this.#wss.close();
  }

  async #accept(ws: WebSocket, req: IncomingMessage): Promise<void> {
    const headerCredential = Authenticator.bearer(req.headers.authorization);
    if (headerCredential !== undefined) {
      const caller = await this.auth.authenticate(headerCredential);
      if (caller === null) return this.#reject(ws);
      return this.#admit(ws, caller);
    }
    const timer = setTimeout(() => this.#reject(ws), AUTH_DEADLINE_MS);
    ws.once('message', (data) => {
      clearTimeout(timer);
      const frame = parseFrame(data.toString());
      if (frame?.type !== 'auth' || typeof frame.token !== 'string') return this.#reject(ws);
      void this.auth.authenticate(frame.token).then((caller) => (caller === null ? this.#reject(ws) : this.#admit(ws, caller)));
    });
  }

  #admit(ws: WebSocket, caller: Caller): void {
    const client: Client = { caller, alive: true };
    this.#clients.set(ws, client);
    ws.on('pong', () => {
      client.alive = true;
    });
    ws.on('close', () => this.#clients.delete(ws));
    ws.on('error', (err) => this.logger.debug({ err: err.message }, 'event socket error'));
    ws.on('message', (data) => {
      const frame = parseFrame(data.toString());
      if (frame?.type === 'ping') ws.send(JSON.stringify({ type: 'pong', id: frame.id ?? null }));
      else ws.send(JSON.stringify({ type: 'error', ...toErrorBody(new PhError('PH_INVALID_INPUT', 'Unknown frame type')) }));
    });
    ws.send(JSON.stringify({ type: 'welcome', role: caller.role }));
  }

  #reject(ws: WebSocket): void {
    if (ws.readyState !== ws.OPEN) return;
    ws.send(JSON.stringify({ type: 'error', ...new PhError('PH_UNAUTHENTICATED').toBody() }));
    ws.close(CLOSE_POLICY, 'unauthenticated');
  }

  #heartbeat(): void {
    for (const [ws, client] of this.#clients) {
      if (!client.alive) {
        ws.terminate();
        continue;
      }
      client.alive = false;
      ws.ping();
    }
  }
}

function parseFrame(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
