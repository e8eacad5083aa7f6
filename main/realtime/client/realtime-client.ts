import type {
  ErrorFrame,
  GapFrame,
  Lane,
  MessageFrame,
  Position,
  PresenceEventFrame,
  PresenceMember,
  ServerFrame,
  WelcomeFrame,
} from '../../../contract/realtime-frames';

/** The part of the WebSocket API the client uses: the browser's, Node 22's, or `ws`'s. */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}
export type WebSocketFactory = new (url: string) => WebSocketLike;

export interface RealtimeClientOptions {
  /** `ws://host:port/ws` (or `wss://`); with several nodes, a list: each reconnect tries the next. */
  readonly url: string | readonly string[];
  /** An API key or session token, or a function that fetches a fresh one before each connect. */
  readonly token: string | (() => string | Promise<string>);
  /** The WebSocket class (default: globalThis.WebSocket; pass `ws`'s in Node 20). */
  readonly WebSocket?: WebSocketFactory;
  /** Reconnect with backoff after an unexpected close (default on: 250 ms doubling to 10 s, with jitter). */
  readonly reconnect?: false | { minMs?: number; maxMs?: number };
  /** How long connecting may take until the welcome (default 5 s); then the attempt is dropped and retried. */
  readonly connectTimeoutMs?: number;
  /** How long a request (subscribe, publish, ...) waits for its reply (default 10 s). */
  readonly requestTimeoutMs?: number;
}

export interface SubscribeResult {
  room: string;
  /** Where the room stands: for an empty room, offset 0 of the epoch its first message will have. */
  position: Position;
  replayed: number;
  /** At most 200 members (the hub's `maxPresenceListed`); `membersTotal` counts them all. */
  members: PresenceMember[];
  membersTotal: number;
}

type Listeners = {
  welcome: (frame: WelcomeFrame) => void;
  message: (frame: MessageFrame) => void;
  gap: (frame: GapFrame) => void;
  presence: (frame: PresenceEventFrame) => void;
  event: (event: string, payload: unknown) => void;
  open: () => void;
  close: (code: number, reason: string) => void;
  error: (error: ErrorFrame['error']) => void;
};

/** A failed request: carries the server's stable code (`PH_REALTIME_FORBIDDEN`, ...). */
export class RealtimeError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'RealtimeError';
  }
}

interface RoomState {
  position: Position | null;
  presence?: Record<string, unknown>;
}

const OPEN = 1;

/**
 * A small client for the hub, for Node and the browser. It authenticates with a first `auth`
 * frame, acknowledges messages that ask for it, drops duplicates (a retried or replayed message it
 * has already seen), and after a dropped connection reconnects and resubscribes each room from the
 * last position it saw, so it gets what it missed or a `gap` event saying what was lost.
 */
export class RealtimeClient {
  #ws: WebSocketLike | null = null;
  #nextId = 1;
  readonly #pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: ReturnType<typeof setTimeout> }
  >();
  readonly #rooms = new Map<string, RoomState>();
  readonly #listeners: { [K in keyof Listeners]: Set<Listeners[K]> } = {
    welcome: new Set(),
    message: new Set(),
    gap: new Set(),
    presence: new Set(),
    event: new Set(),
    open: new Set(),
    close: new Set(),
    error: new Set(),
  };
  #closedByUser = false;
  #attempt = 0;
  #reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  #welcome: WelcomeFrame | null = null;
  #ready: Promise<WelcomeFrame> | null = null;
  #urlIndex = 0;
  /** The console events asked for (`undefined` entry: all the role may see), sent again after each reconnect. */
  #events: { names: string[] | undefined } | null = null;

  constructor(private readonly options: RealtimeClientOptions) {}

  get welcome(): WelcomeFrame | null {
    return this.#welcome;
  }

  get connected(): boolean {
    return this.#ws?.readyState === OPEN && this.#welcome !== null;
  }

  /** Listens to `event`; an event it does not have (plain JavaScript passes any string) is a `PH_INVALID_INPUT`. */
  on<K extends keyof Listeners>(event: K, listener: Listeners[K]): () => void {
    if (!Object.hasOwn(this.#listeners, event)) {
      const known = Object.keys(this.#listeners).join(', ');
      throw new RealtimeError('PH_INVALID_INPUT', `The client has no event ${JSON.stringify(event)}: it has ${known}`);
    }
    this.#listeners[event].add(listener);
    return () => this.#listeners[event].delete(listener);
  }

  /** Where the client stands in a room: pass it back as `since` to resume elsewhere. */
  position(room: string): Position | null {
    return this.#rooms.get(room)?.position ?? null;
  }

  /** Connects and authenticates; resolves with the welcome frame. */
  connect(): Promise<WelcomeFrame> {
    this.#closedByUser = false;
    this.#ready ??= this.#open();
    return this.#ready;
  }

  async subscribe(room: string, options: { since?: Position; presence?: Record<string, unknown> } = {}): Promise<SubscribeResult> {
    // Connected first: a connect resubscribes every known room, and this one would go twice.
    if (!this.connected) await this.connect();
    const state = this.#rooms.get(room) ?? { position: null };
    if (options.since !== undefined) state.position = options.since;
    if (options.presence !== undefined) state.presence = options.presence;
    this.#rooms.set(room, state);
    return this.#subscribe(room, state);
  }

  async unsubscribe(room: string): Promise<void> {
    this.#rooms.delete(room);
    await this.#request({ type: 'unsubscribe', room });
  }

  publish(room: string, data: unknown, options: { ack?: boolean; key?: string } = {}): Promise<{ mid: string; position: Position }> {
    return this.#request({ type: 'publish', room, data, ...options }) as Promise<{ mid: string; position: Position }>;
  }

  publishTo(
    target: { user: string } | { all: true },
    data: unknown,
    options: { lane?: Lane; ack?: boolean; key?: string } = {},
  ): Promise<{ mid: string }> {
    return this.#request({ type: 'publish', ...target, data, ...options }) as Promise<{ mid: string }>;
  }

  /**
   * Follows the console's events (`event` listeners hear them): all the caller's role may see, or
   * only `names`; `[]` stops them. Kept across reconnects. Resolves with the names that will come.
   */
  async followEvents(names?: string[]): Promise<string[]> {
    this.#events = { names };
    return ((await this.#request(this.#eventsFrame())) as { events: string[] }).events;
  }

  async presence(room: string): Promise<PresenceMember[]> {
    return ((await this.#request({ type: 'presence', room })) as { members: PresenceMember[] }).members;
  }

  async history(room: string, limit?: number): Promise<{ position: Position | null; messages: MessageFrame[] }> {
    return (await this.#request({ type: 'history', room, ...(limit === undefined ? {} : { limit }) })) as {
      position: Position | null;
      messages: MessageFrame[];
    };
  }

  async ping(): Promise<number> {
    const started = Date.now();
    await this.#request({ type: 'ping' });
    return Date.now() - started;
  }

  close(): void {
    this.#closedByUser = true;
    if (this.#reconnectTimer !== null) clearTimeout(this.#reconnectTimer);
    this.#ws?.close(1000, 'client closing');
    this.#ws = null;
    this.#ready = null;
    this.#failPending(new RealtimeError('PH_UNAVAILABLE', 'The client was closed'));
  }

  // ---- internals ------------------------------------------------------------------------------

  async #subscribe(room: string, state: RoomState): Promise<SubscribeResult> {
    const frame = {
      type: 'subscribe',
      room,
      ...(state.position === null || state.position.epoch === '' ? {} : { since: state.position }),
      ...(state.presence === undefined ? {} : { presence: state.presence }),
    };
    const result = (await this.#request(frame)) as SubscribeResult;
    if (state.position === null || state.position.epoch !== result.position.epoch || state.position.offset < result.position.offset) {
      state.position = result.position;
    }
    return result;
  }

  async #open(): Promise<WelcomeFrame> {
    const Factory = this.options.WebSocket ?? (globalThis as unknown as { WebSocket?: WebSocketFactory }).WebSocket;
    if (Factory === undefined) throw new RealtimeError('PH_UNAVAILABLE', 'No WebSocket implementation: pass options.WebSocket');
    const token = typeof this.options.token === 'function' ? await this.options.token() : this.options.token;
    const urls = typeof this.options.url === 'string' ? [this.options.url] : this.options.url;
    const ws = new Factory(urls[this.#urlIndex % urls.length] as string);
    this.#ws = ws;
    return new Promise<WelcomeFrame>((resolve, reject) => {
      let welcomed = false;
      // Neither browsers nor ws time out a handshake (a lost SYN can stall it for minutes): we do.
      const connectTimer = setTimeout(() => {
        if (!welcomed) ws.close();
      }, this.options.connectTimeoutMs ?? 5000);
      ws.onopen = () => {
        ws.send(JSON.stringify({ type: 'auth', token }));
        this.#emit('open');
      };
      ws.onerror = () => undefined;
      ws.onmessage = (ev) => {
        const frame = parse(ev.data);
        if (frame === null) return;
        if (frame.type === 'welcome' && !welcomed) {
          welcomed = true;
          clearTimeout(connectTimer);
          this.#welcome = frame;
          this.#attempt = 0;
          resolve(frame);
          this.#emit('welcome', frame);
          // Resume every room from where it stood, and the console events asked for.
          for (const [room, state] of this.#rooms)
            void this.#subscribe(room, state).catch((err: RealtimeError) => this.#emit('error', { code: err.code, message: err.message }));
          if (this.#events !== null)
            void this.#request(this.#eventsFrame()).catch((err: RealtimeError) =>
              this.#emit('error', { code: err.code, message: err.message }),
            );
          return;
        }
        if (!welcomed && frame.type === 'error') {
          reject(new RealtimeError(frame.error.code, frame.error.message));
          return;
        }
        this.#onFrame(frame);
      };
      ws.onclose = (ev) => {
        clearTimeout(connectTimer);
        if (this.#ws === ws) this.#ws = null;
        this.#welcome = null;
        this.#ready = null;
        this.#failPending(new RealtimeError('PH_UNAVAILABLE', `The connection closed (${ev.code})`));
        if (!welcomed)
          reject(
            new RealtimeError(
              ev.code === 1008 ? 'PH_UNAUTHENTICATED' : 'PH_UNAVAILABLE',
              `The connection closed before it was ready (${ev.code} ${ev.reason})`,
            ),
          );
        this.#emit('close', ev.code, ev.reason);
        // 1008: the credential was refused; retrying with the same one would not help. 1013 (its key
        // at its connection cap, or the credential not checked just now) is retried with backoff.
        if (!this.#closedByUser && ev.code !== 1008 && this.options.reconnect !== false) this.#scheduleReconnect();
      };
    });
  }

  #scheduleReconnect(): void {
    const min = (this.options.reconnect || undefined)?.minMs ?? 250;
    const max = (this.options.reconnect || undefined)?.maxMs ?? 10_000;
    const delay = Math.min(max, min * 2 ** this.#attempt) * (0.5 + Math.random() / 2);
    this.#attempt += 1;
    this.#urlIndex += 1;
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = null;
      if (this.#closedByUser) return;
      this.#ready = this.#open();
      this.#ready.catch(() => undefined);
    }, delay);
  }

  #onFrame(frame: ServerFrame): void {
    switch (frame.type) {
      case 'message': {
        if (frame.ack === true) this.#send({ type: 'ack', mid: frame.mid });
        if (frame.room !== undefined && frame.epoch !== undefined && frame.offset !== undefined) {
          const state = this.#rooms.get(frame.room);
          if (state === undefined) return;
          const seen = state.position;
          if (seen !== null && seen.epoch === frame.epoch && frame.offset <= seen.offset) return;
          state.position = { epoch: frame.epoch, offset: frame.offset };
        }
        this.#emit('message', frame);
        return;
      }
      case 'gap': {
        const state = this.#rooms.get(frame.room);
        // `rewound`: the room is behind what this client saw, so its position goes back, and the
        // offsets after it are new messages, not duplicates.
        if (
          state !== undefined &&
          (frame.reason === 'rewound' ||
            state.position === null ||
            state.position.epoch !== frame.position.epoch ||
            state.position.offset < frame.position.offset)
        ) {
          state.position = frame.position;
        }
        this.#emit('gap', frame);
        return;
      }
      case 'presence':
        this.#emit('presence', frame);
        return;
      case 'event':
        this.#emit('event', frame.event, frame.payload);
        return;
      case 'reply':
      case 'pong': {
        const pending = typeof frame.id === 'number' ? this.#pending.get(frame.id) : undefined;
        if (pending === undefined) return;
        this.#pending.delete(frame.id as number);
        clearTimeout(pending.timer);
        pending.resolve(frame.type === 'reply' ? frame.result : null);
        return;
      }
      case 'error': {
        const pending = typeof frame.id === 'number' ? this.#pending.get(frame.id) : undefined;
        if (pending === undefined) {
          this.#emit('error', frame.error);
          return;
        }
        this.#pending.delete(frame.id as number);
        clearTimeout(pending.timer);
        pending.reject(new RealtimeError(frame.error.code, frame.error.message));
        return;
      }
      default:
        return;
    }
  }

  #eventsFrame(): Record<string, unknown> {
    const names = this.#events?.names;
    return names === undefined ? { type: 'events' } : { type: 'events', events: names };
  }

  async #request(frame: Record<string, unknown>): Promise<unknown> {
    if (!this.connected) await this.connect();
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new RealtimeError('PH_UNAVAILABLE', `No reply to ${String(frame.type)} within the timeout`));
      }, this.options.requestTimeoutMs ?? 10_000);
      this.#pending.set(id, { resolve, reject, timer });
      this.#send({ ...frame, id });
    });
  }

  #send(frame: Record<string, unknown>): void {
    if (this.#ws?.readyState === OPEN) this.#ws.send(JSON.stringify(frame));
  }

  #failPending(err: Error): void {
    for (const [id, pending] of this.#pending) {
      clearTimeout(pending.timer);
      pending.reject(err);
      this.#pending.delete(id);
    }
  }

  #emit<K extends keyof Listeners>(event: K, ...args: Parameters<Listeners[K]>): void {
    for (const listener of this.#listeners[event]) {
      try {
        (listener as (...a: unknown[]) => void)(...args);
      } catch {
        // A listener's failure is its own; the client keeps going.
      }
    }
  }
}

function parse(data: unknown): ServerFrame | null {
  try {
    const text = typeof data === 'string' ? data : String(data);
    const value = JSON.parse(text) as unknown;
    return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string'
      ? (value as ServerFrame)
      : null;
  } catch {
    return null;
  }
}
