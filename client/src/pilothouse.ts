import { RealtimeClient, type WebSocketFactory } from '../../main/realtime/client';
import { Cache, type L1Options } from './cache';
import { Discovery } from './discovery';
import { InvalidInputError, UnavailableError } from './errors';
import { EventFeed } from './events';
import type { OperationInput, OperationName, OperationOutput } from './generated/contract';
import { Transport } from './http';
import { Jobs } from './jobs';
import { ApiKeyToken, ClientCredentials, type TokenSource } from './tokens';

export interface PilothouseOptions {
  /**
   * The server: `http://127.0.0.1:7420` (or `https://…`); or a fleet's nodes, in order. Requests go
   * to the first; the hub's socket connects to the first and, each time it drops, to the next.
   */
  readonly url: string | readonly string[];
  /** An API key, `ph_<id>_<secret>`. */
  readonly apiKey: string;
  /**
   * `oauth` (default): exchange the key for short-lived access tokens (client credentials, refreshed
   * before they expire); `key`: send the key itself on every request.
   */
  readonly auth?: 'oauth' | 'key';
  /** With `oauth`: a narrower scope than the key's (`role:viewer`, a key scope). */
  readonly scope?: string;
  /** The local L1 in front of the cache (default on); `false`: every get is a request. */
  readonly l1?: false | L1Options;
  /** Default: globalThis.fetch. */
  readonly fetch?: typeof fetch;
  /** Default: globalThis.WebSocket (browsers, Node 22; Node 20 with --experimental-websocket, or pass `ws`). */
  readonly WebSocket?: WebSocketFactory;
}

/**
 * The typed client for LAN programs (docs/client.md): every operation of the contract (`call`),
 * the real-time hub (`realtime`), service registration with heartbeats, jobs with their progress,
 * and the cache with a coherent local L1. Runs in Node 20+ and browsers (fetch and WebSocket only).
 */
export class Pilothouse {
  readonly tokens: TokenSource;
  readonly discovery: Discovery;
  readonly jobs: Jobs;
  readonly cache: Cache;
  readonly events: EventFeed;
  readonly #transport: Transport;
  readonly #WebSocket: WebSocketFactory | undefined;
  readonly #socketUrls: readonly string[];
  #realtime: RealtimeClient | null = null;
  #closed = false;

  constructor(options: PilothouseOptions) {
    const urls = (typeof options.url === 'string' ? [options.url] : options.url).map((u) => u.replace(/\/+$/, ''));
    const url = urls[0];
    if (url === undefined) throw new InvalidInputError('PH_INVALID_INPUT', 'options.url names no server', 0, 'url');
    this.#socketUrls = urls.map((u) => `${u.replace(/^http/, 'ws')}/ws`);
    const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.tokens =
      options.auth === 'key'
        ? new ApiKeyToken(options.apiKey)
        : new ClientCredentials({
            url,
            apiKey: options.apiKey,
            fetch: fetchImpl,
            ...(options.scope === undefined ? {} : { scope: options.scope }),
          });
    this.#transport = new Transport(url, this.tokens, fetchImpl);
    this.events = new EventFeed(() => this.realtime);
    this.discovery = new Discovery(this.#transport);
    this.jobs = new Jobs(this.#transport, this.events);
    this.#WebSocket = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketFactory }).WebSocket;
    if (options.l1 === false) this.cache = new Cache(this.#transport, null);
    else if (this.#WebSocket === undefined) this.cache = new Cache(this.#transport, null, {}, noWebSocket());
    else this.cache = new Cache(this.#transport, this.events, options.l1);
  }

  /** Any operation of the contract, typed by it. */
  call<N extends OperationName>(name: N, input: OperationInput<N>): Promise<OperationOutput<N>> {
    return this.#transport.call(name, input);
  }

  /** The hub's client (made on first use, authenticated with the same tokens): rooms, presence, publish. */
  get realtime(): RealtimeClient {
    if (this.#realtime === null) {
      let presented: string | null = null;
      let welcomed = false;
      const realtime = new RealtimeClient({
        url: this.#socketUrls,
        token: async () => (presented = await this.tokens.token()),
        WebSocket: this.#WebSocket ?? NoWebSocket,
      });
      realtime.on('close', (code) => {
        this.cache.disconnected();
        // 1008 on a socket that was in: its token was revoked. Once, with a fresh token (the hub
        // client does not retry a refused credential itself); a refusal of the fresh one stays.
        if (code !== 1008 || !welcomed || presented === null || this.#closed) return;
        welcomed = false;
        this.tokens.refused(presented);
        realtime.connect().catch(() => undefined);
      });
      realtime.on('welcome', () => {
        welcomed = true;
        this.cache.reconnected();
      });
      this.#realtime = realtime;
    }
    return this.#realtime;
  }

  /** Deregisters this client's services, closes the socket and revokes its OAuth grant. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.discovery.deregisterAll();
    this.#realtime?.close();
    await this.tokens.close();
  }
}

function noWebSocket(): UnavailableError {
  return new UnavailableError(
    'PH_UNAVAILABLE',
    'No WebSocket implementation: pass options.WebSocket (the ws package in Node 20, or run it with --experimental-websocket)',
    0,
  );
}

/**
 * Stands in for a missing WebSocket class: whatever needs the socket (rooms, jobs' progress, events)
 * fails with a PilothouseError saying what to pass, as every error of this client does.
 */
const NoWebSocket = class {
  constructor() {
    throw noWebSocket();
  }
} as unknown as WebSocketFactory;
