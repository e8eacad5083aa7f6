import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Database } from 'better-sqlite3';
import type { Redis } from 'ioredis';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { PhError, toErrorBody } from '../../contract/errors';
import { eventNames, events, fansOutToCluster, isEventName, type EventMessage, type EventName } from '../../contract/events';
import { roleAllows } from '../../contract/roles';
import type { Clock } from '../clock';
import type { EventBus } from '../events/event-bus';
import type { Logger } from '../logger';
import { Authenticator, type Caller } from '../security';
import type { Service, ServiceState } from '../service';
import { revocationIn, revokes, sourceOf, throttledUpgradeResponse, type Revocation } from './admission';
import type { Backplane, Envelope, RoomDraft } from './backplane';
import { closeCodes, type Lane, type Position, type PublishFrame, type SubscribeFrame } from './client/frames';
import { Connection, type SendOptions } from './connection';
import { CorkedWrites } from './corked-writes';
import { LocalBackplane } from './local-backplane';
import { hubOptions, presenceTtl, type HubOptions } from './options';
import { frameId, parseClientFrame } from './protocol';
import { RedisBackplane } from './redis-backplane';
import { RoomPolicy } from './room-policy';
import type { RealtimeStats } from './stats';

export const REALTIME_PATH = '/ws';

export interface RealtimeHubDeps {
  readonly authenticator: Authenticator;
  readonly bus: EventBus;
  readonly db: Database;
  /** The node's shared client (duplicated for the backplane), or null for a single machine. */
  readonly redis: Redis | null;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly options?: Partial<HubOptions>;
  /** This node's name in presence and stats (default: a random id per start). */
  readonly node?: string;
}

type Upgradable = { on(event: 'upgrade', cb: (req: IncomingMessage, socket: Duplex, head: Buffer) => void): unknown };

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
const REPLY: SendOptions = { lane: 'high', droppable: false };
const ERROR: SendOptions = { lane: 'high' };

/**
 * The real-time hub on `/ws`: authenticates connections (Authorization header on the upgrade, or a
 * first `auth` frame), then serves rooms, presence, history with replay, acknowledged delivery and
 * the console's event stream, over a backplane that is in-process (SQLite history) or Redis.
 */
export class RealtimeHub implements Service {
  readonly name = 'realtime';
  readonly options: HubOptions;
  readonly node: string;
  readonly policy: RoomPolicy;
  readonly backplane: Backplane;
  readonly #wss: WebSocketServer;
  readonly #connections = new Set<Connection>();
  readonly #corkedWrites = new CorkedWrites();
  readonly #eventListeners = new Set<(message: EventMessage) => void>();
  readonly #byWs = new Map<WebSocket, Connection>();
  readonly #rooms = new Map<string, Set<Connection>>();
  /** Local connection count per user per room: presence changes when it goes 0 → 1 and 1 → 0. */
  readonly #roomUsers = new Map<string, Map<string, number>>();
  readonly #users = new Map<string, Set<Connection>>();
  readonly #roomCounts = new Map<string, { total: number; rate: number; last: number }>();
  #state: ServiceState = 'idle';
  #draining = false;
  #timers: NodeJS.Timeout[] = [];
  #unsubscribeBus: (() => void) | null = null;
  #midCounter = 0;
  #statsTick = 0;
  readonly #totals = {
    published: 0,
    delivered: 0,
    inbound: 0,
    closedOverflow: 0,
    closedHeartbeat: 0,
    dropped: 0,
    coalesced: 0,
    retried: 0,
    ackExpired: 0,
    rateLimited: 0,
  };
  #rates = { publishedPerSecond: 0, deliveredPerSecond: 0, inboundPerSecond: 0 };
  #lastTotals = { published: 0, delivered: 0, inbound: 0, at: 0 };

  constructor(private readonly deps: RealtimeHubDeps) {
    this.options = hubOptions(deps.options);
    this.node = deps.node ?? `node-${randomBytes(4).toString('hex')}`;
    this.policy = new RoomPolicy(this.options.rooms);
    this.#wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.options.maxPayloadBytes,
      perMessageDeflate: this.options.perMessageDeflate,
      clientTracking: false,
    });
    this.backplane =
      deps.redis === null
        ? new LocalBackplane(deps.db, deps.clock, this.options)
        : new RedisBackplane(
            deps.redis,
            { node: this.node, ...this.options, presenceTtlMs: presenceTtl(this.options) },
            deps.logger.child({ component: 'realtime-redis' }),
          );
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  async start(): Promise<void> {
    this.#state = 'starting';
    await this.backplane.start((envelope) => this.#deliver(envelope));
    const every = (ms: number, fn: () => void) => {
      const timer = setInterval(fn, ms);
      timer.unref();
      this.#timers.push(timer);
    };
    every(this.options.pingIntervalMs, () => this.#heartbeat());
    every(Math.max(20, Math.floor(this.options.ackRetryMs / 2)), () => this.#retryAcks());
    every(1000, () => this.#tickStats());
    if (this.backplane.kind === 'redis') every(Math.max(50, Math.floor(presenceTtl(this.options) / 3)), () => this.#refreshPresence());
    this.#unsubscribeBus = this.deps.bus.subscribe((message) => {
      const frame = json({ type: 'event', ...message });
      // Latest value wins for status snapshots; other events keep their order in the normal lane.
      const coalesce = message.event === 'system.status' || message.event === 'realtime.stats';
      const lane: Lane = coalesce ? 'low' : 'normal';
      const key = coalesce ? `event:${message.event}` : '';
      if (message.event === 'auth.revoked') this.#endRevoked(message.payload);
      this.#deliverEvent(message.event, message, frame, lane, key);
      if (fansOutToCluster(message.event))
        void this.backplane
          .publishEvent(message.event, { lane, key, frame })
          .catch((err: Error) => this.deps.logger.debug({ err: err.message }, 'realtime: event not carried to other nodes'));
    });
    this.#state = 'running';
  }

  /** Handles upgrades at `/ws` on the HTTP server; other paths get a 404. */
  attach(server: Upgradable): void {
    server.on('upgrade', (req, socket, head) => {
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      if (path !== REALTIME_PATH) {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
        return;
      }
      if (this.#draining || this.#state !== 'running') {
        socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n');
        return;
      }
      try {
        this.deps.authenticator.assertNotThrottled(sourceOf(req));
      } catch (err) {
        socket.end(throttledUpgradeResponse(err as PhError));
        return;
      }
      this.#wss.handleUpgrade(req, socket, head, (ws) => this.#accept(ws, req, socket));
    });
  }

  /** Stops accepting and tells every client to reconnect (to another node, or here after restart). */
  close(): void {
    if (this.#draining) return;
    this.#draining = true;
    this.#unsubscribeBus?.();
    this.#unsubscribeBus = null;
    for (const connection of this.#connections) {
      connection.ws.close(closeCodes.restart, 'server stopping');
    }
  }

  async stop(): Promise<void> {
    if (this.#state === 'stopped' || this.#state === 'idle') return;
    this.#state = 'stopping';
    this.close();
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
    // Leave presence cleanly, so other nodes announce leaves now rather than after the TTL.
    await Promise.allSettled([...this.#connections].map((c) => this.#cleanup(c)));
    for (const connection of this.#connections) connection.ws.terminate();
    this.#wss.close();
    await this.backplane.stop();
    this.#state = 'stopped';
  }

  status(): { state: ServiceState; detail?: string } {
    if (this.#state === 'running' && !this.backplane.healthy()) return { state: 'degraded', detail: 'redis backplane not connected' };
    // No connection count here: status changes are broadcast to every console, so keep the detail stable.
    if (this.#state === 'running') return { state: 'running', detail: `${this.backplane.kind} backplane, node ${this.node}` };
    return { state: this.#state };
  }

  // ---- connections ------------------------------------------------------------------------------

  #accept(ws: WebSocket, req: IncomingMessage, socket: Duplex): void {
    const early: RawData[] = [];
    let admitted: Connection | null = null;
    ws.on('error', (err) => this.deps.logger.debug({ err: err.message }, 'realtime socket error'));
    const headerCredential = Authenticator.bearer(req.headers.authorization);
    let timer: NodeJS.Timeout | null = null;
    const admit = (caller: Caller | null): void => {
      if (timer !== null) clearTimeout(timer);
      if (ws.readyState !== ws.OPEN) return;
      if (caller === null) return this.#reject(ws);
      admitted = this.#admit(ws, caller, socket);
      for (const data of early.splice(0)) this.#onMessage(admitted, data);
    };
    ws.on('message', (data) => {
      if (admitted !== null) return this.#onMessage(admitted, data);
      if (headerCredential !== undefined || early.length > 0) {
        if (early.length < 64) early.push(data);
        return;
      }
      // The first frame must authenticate (browsers cannot set headers on an upgrade).
      early.push(data);
      let token: unknown;
      try {
        const frame = parseClientFrame(data.toString());
        token = frame.type === 'auth' ? frame.token : undefined;
      } catch {
        token = undefined;
      }
      early.length = 0;
      if (typeof token !== 'string') return this.#reject(ws);
      void this.deps.authenticator.authenticate(token, sourceOf(req)).then(admit, (err: unknown) => this.#unavailable(ws, err));
    });
    if (headerCredential !== undefined) {
      void this.deps.authenticator.authenticate(headerCredential, sourceOf(req)).then(admit, (err: unknown) => this.#unavailable(ws, err));
    } else {
      timer = setTimeout(() => {
        if (admitted === null) this.#reject(ws);
      }, this.options.authDeadlineMs);
      timer.unref();
    }
  }

  #reject(ws: WebSocket): void {
    if (ws.readyState !== ws.OPEN) return;
    ws.send(JSON.stringify({ type: 'error', ...new PhError('PH_UNAUTHENTICATED').toBody() }));
    ws.close(closeCodes.policy, 'unauthenticated');
  }

  /** The credential could not be checked (the key store failed): not a refusal, so the client retries. */
  #unavailable(ws: WebSocket, err: unknown): void {
    if (err instanceof PhError && err.code === 'PH_AUTH_THROTTLED') {
      if (ws.readyState !== ws.OPEN) return;
      ws.send(JSON.stringify({ type: 'error', ...err.toBody() }));
      ws.close(closeCodes.policy, 'throttled');
      return;
    }
    this.deps.logger.warn({ err }, 'realtime: authentication failed to run');
    if (ws.readyState !== ws.OPEN) return;
    ws.send(JSON.stringify({ type: 'error', ...new PhError('PH_UNAVAILABLE', 'Could not check the credential; try again').toBody() }));
    ws.close(closeCodes.tryAgain, 'try again later');
  }

  #admit(ws: WebSocket, caller: Caller, socket: Duplex): Connection {
    const session = randomBytes(9).toString('base64url');
    const connection = new Connection(
      ws,
      caller,
      session,
      caller.actor,
      this.options,
      this.deps.clock.now(),
      () => {
        this.#totals.closedOverflow += 1;
      },
      { socket, writes: this.#corkedWrites },
    );
    this.#connections.add(connection);
    this.#byWs.set(ws, connection);
    let users = this.#users.get(connection.user);
    if (users === undefined) {
      this.#users.set(connection.user, (users = new Set()));
      void this.backplane
        .watch({ user: connection.user })
        .catch((err: Error) => this.deps.logger.warn({ err: err.message }, 'realtime: cannot watch user channel'));
    }
    users.add(connection);
    ws.on('pong', () => connection.pong());
    ws.on('close', () => void this.#cleanup(connection));
    connection.send(
      json({
        type: 'welcome',
        role: caller.role,
        session,
        user: connection.user,
        node: this.node,
        pingIntervalMs: this.options.pingIntervalMs,
      }),
      REPLY,
    );
    return connection;
  }

  /**
   * Ends the connections a revocation names (a revoked key, an ended session, or every session after
   * the signing secret changed), whether it was raised here or on another node. The connection is
   * marked closed first, so a frame already on its way is refused rather than served.
   */
  #endRevoked(revocation: Revocation): void {
    for (const connection of this.#connections) {
      if (!revokes(revocation, connection.caller)) continue;
      connection.markClosed();
      const { ws } = connection;
      if (ws.readyState === ws.OPEN) {
        ws.send(
          JSON.stringify({
            type: 'error',
            ...new PhError('PH_UNAUTHENTICATED', `The credential was revoked (${revocation.reason})`).toBody(),
          }),
        );
        ws.close(closeCodes.policy, 'revoked');
      }
      // A client that never answers the close handshake is cut off rather than held open.
      setTimeout(() => ws.terminate(), 1000).unref();
      void this.#cleanup(connection);
    }
  }

  async #cleanup(connection: Connection): Promise<void> {
    if (!this.#connections.delete(connection)) return;
    this.#byWs.delete(connection.ws);
    this.#collect(connection);
    connection.markClosed();
    const users = this.#users.get(connection.user);
    users?.delete(connection);
    if (users?.size === 0) {
      this.#users.delete(connection.user);
      this.backplane.unwatch({ user: connection.user });
    }
    await Promise.allSettled([...connection.rooms].map((room) => this.#leave(connection, room)));
  }

  #collect(connection: Connection): void {
    const s = connection.stats;
    this.#totals.dropped += s.dropped;
    this.#totals.coalesced += s.coalesced;
    this.#totals.retried += s.retried;
    this.#totals.ackExpired += s.ackExpired;
    this.#totals.rateLimited += s.rateLimited;
    s.dropped = s.coalesced = s.retried = s.ackExpired = s.rateLimited = 0;
  }

  #onMessage(connection: Connection, data: RawData): void {
    if (connection.closed) return;
    this.#totals.inbound += 1;
    const text = data.toString();
    if (!connection.admit(this.deps.clock.now())) {
      connection.send(
        json({
          type: 'error',
          id: frameId(text),
          ...new PhError('PH_RATE_LIMITED', `More than ${this.options.rateLimitPerSecond} frames a second; this one was dropped`).toBody(),
        }),
        ERROR,
      );
      return;
    }
    void this.#handle(connection, text).catch((err: unknown) => {
      if (!(err instanceof PhError)) this.deps.logger.error({ err }, 'realtime frame failed');
      connection.send(json({ type: 'error', id: frameId(text), ...toErrorBody(err) }), ERROR);
    });
  }

  async #handle(connection: Connection, text: string): Promise<void> {
    const frame = parseClientFrame(text);
    const id = 'id' in frame ? (frame.id ?? null) : null;
    switch (frame.type) {
      case 'ping':
        connection.send(json({ type: 'pong', id }), REPLY);
        return;
      case 'ack':
        connection.ack(frame.mid);
        return;
      case 'events':
        return this.#reply(connection, id, { events: this.#followEvents(connection, frame.events) });
      case 'auth':
        throw new PhError('PH_CONFLICT', 'This connection is already authenticated');
      case 'subscribe':
        return this.#reply(connection, id, await this.#subscribe(connection, frame));
      case 'unsubscribe':
        if (connection.rooms.has(frame.room)) await this.#leave(connection, frame.room);
        return this.#reply(connection, id, { room: frame.room });
      case 'publish':
        return this.#reply(connection, id, await this.#publishFrame(connection.caller, connection.user, frame));
      case 'presence':
        this.policy.assertSubscribe(connection.caller, frame.room);
        return this.#reply(connection, id, { room: frame.room, members: await this.backplane.presenceList(frame.room) });
      case 'history': {
        const rule = this.policy.assertSubscribe(connection.caller, frame.room);
        if (!rule.history)
          return this.#reply(connection, id, { room: frame.room, position: await this.backplane.position(frame.room), messages: [] });
        const read = await this.backplane.read(frame.room, undefined, frame.limit ?? 100, this.options.historyMaxAgeMs);
        return this.#reply(connection, id, {
          room: frame.room,
          position: read.position,
          messages: read.frames.map((f) => JSON.parse(f.frame) as unknown),
        });
      }
    }
  }

  #reply(connection: Connection, id: string | number | null, result: unknown): void {
    connection.send(json({ type: 'reply', id, result }), REPLY);
  }

  // ---- rooms ------------------------------------------------------------------------------------

  async #subscribe(connection: Connection, frame: SubscribeFrame): Promise<unknown> {
    const { room } = frame;
    const rule = this.policy.assertSubscribe(connection.caller, room);
    const replay = { offset: 0, frames: [] as { offset: number; data: Buffer; options: SendOptions }[] };
    connection.replaying.set(room, replay);
    try {
      if (!connection.rooms.has(room)) {
        connection.rooms.add(room);
        let members = this.#rooms.get(room);
        if (members === undefined) this.#rooms.set(room, (members = new Set()));
        members.add(connection);
        if (members.size === 1) await this.backplane.watch({ room });
        let users = this.#roomUsers.get(room);
        if (users === undefined) this.#roomUsers.set(room, (users = new Map()));
        const count = (users.get(connection.user) ?? 0) + 1;
        users.set(connection.user, count);
        if (count === 1) await this.backplane.presenceJoin(room, connection.user, frame.presence ?? {});
      }
      const { position, sent, replayed } = await this.#catchUp(connection, room, rule.history, rule.lane, frame.since);
      // Live frames that came in during the replay, past what it covered.
      for (const item of replay.frames) if (item.offset > sent) this.#sendRoomFrame(connection, item.data, item.options);
      connection.replaying.delete(room);
      return { room, position, replayed, members: await this.backplane.presenceList(room) };
    } catch (err) {
      connection.replaying.delete(room);
      if (connection.rooms.has(room)) await this.#leave(connection, room).catch(() => undefined);
      throw err instanceof PhError
        ? err
        : new PhError('PH_REALTIME_UNAVAILABLE', `Could not subscribe to ${room}: the backplane did not answer`, { cause: err });
    }
  }

  /**
   * Sends what a resuming client missed since `since`, or gap frames for what is gone, and returns
   * the highest offset it has now been given (live frames above it follow).
   */
  async #catchUp(
    connection: Connection,
    room: string,
    history: boolean,
    lane: Lane,
    since: Position | undefined,
  ): Promise<{ position: Position | null; sent: number; replayed: number }> {
    const sendGap = (epoch: string, from: number, to: number | null, reason: string, position: Position) =>
      connection.send(json({ type: 'gap', room, epoch, from, to, reason, position }), { lane, droppable: false });
    if (since === undefined) {
      const position = await this.backplane.position(room);
      return { position, sent: position?.offset ?? 0, replayed: 0 };
    }
    let position = await this.backplane.position(room);
    if (position === null) {
      if (since.offset > 0) sendGap(since.epoch, since.offset + 1, null, 'epoch-changed', { epoch: '', offset: 0 });
      return { position, sent: 0, replayed: 0 };
    }
    let after = since.offset;
    if (position.epoch !== since.epoch) {
      sendGap(since.epoch, since.offset + 1, null, 'epoch-changed', { epoch: position.epoch, offset: 0 });
      after = 0;
    }
    if (!history) {
      if (after < position.offset) sendGap(position.epoch, after + 1, position.offset, 'history-trimmed', position);
      return { position, sent: position.offset, replayed: 0 };
    }
    const limit = this.options.historyMaxCount;
    let first = true;
    let replayed = 0;
    // Bounded: MAXLEN ~ may keep a little more than the limit, so read in pages until caught up.
    for (let page = 0; page < 20; page += 1) {
      const read = await this.backplane.read(room, after, limit, this.options.historyMaxAgeMs);
      if (read.position === null || read.position.epoch !== position.epoch) break;
      position = read.position;
      if (first && read.oldest > after + 1) {
        const to = Math.min(read.oldest - 1, position.offset);
        sendGap(position.epoch, after + 1, to, 'history-trimmed', { epoch: position.epoch, offset: to });
        after = to;
      }
      first = false;
      for (const { offset, frame } of read.frames) {
        if (offset <= after) continue;
        this.#sendRoomFrame(connection, Buffer.from(frame), { lane, room, epoch: position.epoch, offset });
        after = offset;
        replayed += 1;
      }
      if (read.frames.length < limit || after >= position.offset) break;
    }
    return { position, sent: after, replayed };
  }

  async #leave(connection: Connection, room: string): Promise<void> {
    connection.rooms.delete(room);
    const members = this.#rooms.get(room);
    members?.delete(connection);
    if (members?.size === 0) {
      this.#rooms.delete(room);
      this.backplane.unwatch({ room });
    }
    const users = this.#roomUsers.get(room);
    const count = (users?.get(connection.user) ?? 1) - 1;
    if (count > 0) {
      users?.set(connection.user, count);
      return;
    }
    users?.delete(connection.user);
    if (users?.size === 0) this.#roomUsers.delete(room);
    await this.backplane.presenceLeave(room, connection.user);
  }

  // ---- publishing -------------------------------------------------------------------------------

  async #publishFrame(caller: Caller, from: string, frame: PublishFrame): Promise<{ mid: string; position?: Position }> {
    const targets = (frame.room !== undefined ? 1 : 0) + (frame.user !== undefined ? 1 : 0) + (frame.all === true ? 1 : 0);
    if (targets !== 1) throw new PhError('PH_INVALID_INPUT', 'Publish to exactly one of room, user or all', { field: 'room' });
    if (frame.room !== undefined) {
      return this.publish(frame.room, frame.data, { caller, from, ack: frame.ack ?? false, key: frame.key });
    }
    if (!roleAllows(caller.role, frame.all === true ? 'admin' : 'operator')) {
      throw new PhError(
        'PH_REALTIME_FORBIDDEN',
        frame.all === true ? 'Broadcasting to everyone needs the admin role' : 'Messaging a user needs the operator role',
      );
    }
    const mid = this.#nextMid();
    const lane = frame.lane ?? 'normal';
    const data = json({
      type: 'message',
      mid,
      lane,
      from,
      at: this.deps.clock.now(),
      ...(frame.ack === true ? { ack: true } : {}),
      ...(frame.key === undefined ? {} : { key: frame.key }),
      data: frame.data,
    });
    await this.backplane.publishDirect(frame.all === true ? 'all' : 'user', frame.user ?? '', {
      lane,
      ack: frame.ack ?? false,
      mid,
      key: frame.key ?? '',
      frame: data,
    });
    this.#totals.published += 1;
    return { mid };
  }

  /**
   * Publishes to a room: checks the caller may, numbers and stores the message (when the room keeps
   * history) and fans it out on every node. Resolves once stored: an acknowledged publication
   * survives the death of this node.
   */
  async publish(
    room: string,
    data: unknown,
    options: { caller: Caller; from?: string; ack?: boolean; key?: string },
  ): Promise<{ mid: string; position: Position }> {
    const rule = this.policy.assertPublish(options.caller, room);
    return this.#publishRoom(room, data, rule.lane, rule.history, options.from ?? options.caller.actor, options.ack ?? false, options.key);
  }

  /** Server-side publish that skips room permissions (progress, system rooms). */
  publishAsServer(room: string, data: unknown, key?: string): Promise<{ mid: string; position: Position }> {
    const rule = this.policy.rule(room);
    return this.#publishRoom(room, data, rule.lane, rule.history, 'system', false, key);
  }

  async #publishRoom(
    room: string,
    data: unknown,
    lane: Lane,
    history: boolean,
    from: string,
    ack: boolean,
    key: string | undefined,
  ): Promise<{ mid: string; position: Position }> {
    const mid = this.#nextMid();
    const at = this.deps.clock.now();
    const draft: RoomDraft = {
      mid,
      lane,
      ack,
      key: key ?? '',
      at,
      head: `{"type":"message","mid":${JSON.stringify(mid)},"room":${JSON.stringify(room)},"lane":"${lane}","from":${JSON.stringify(from)},"at":${at},${ack ? '"ack":true,' : ''}${key === undefined ? '' : `"key":${JSON.stringify(key)},`}"epoch":"`,
      tail: `,"data":${JSON.stringify(data ?? null)}}`,
    };
    try {
      const position = await this.backplane.publishRoom(room, draft, history);
      this.#totals.published += 1;
      return { mid, position };
    } catch (err) {
      throw err instanceof PhError
        ? err
        : new PhError('PH_REALTIME_UNAVAILABLE', 'The message was not stored: the backplane did not answer', { cause: err });
    }
  }

  #nextMid(): string {
    this.#midCounter += 1;
    return `${this.node}.${this.#midCounter.toString(36)}`;
  }

  // ---- delivery ---------------------------------------------------------------------------------

  #deliver(envelope: Envelope): void {
    if (envelope.kind === 'room') {
      const members = this.#rooms.get(envelope.target);
      this.#countRoom(envelope.target);
      if (members === undefined) return;
      const options: SendOptions = {
        lane: envelope.lane,
        key: envelope.key === '' ? undefined : envelope.key,
        room: envelope.target,
        epoch: envelope.epoch,
        offset: envelope.offset,
      };
      for (const connection of members) {
        const replay = connection.replaying.get(envelope.target);
        if (replay !== undefined) {
          replay.frames.push({
            offset: envelope.offset,
            data: envelope.frame,
            options: envelope.ack ? { ...options, ackMid: envelope.mid } : options,
          });
          continue;
        }
        if (envelope.ack) connection.sendWithAck(envelope.mid, envelope.frame, options, this.deps.clock.now());
        else this.#sendRoomFrame(connection, envelope.frame, options);
      }
      this.#totals.delivered += members.size;
      return;
    }
    if (envelope.kind === 'event') {
      // Another node's event, by name: nodes run one contract, so an unknown name (a newer node) is dropped.
      if (envelope.target === 'auth.revoked') this.#endRevoked(revocationIn(envelope.frame));
      if (isEventName(envelope.target)) this.#deliverEvent(envelope.target, null, envelope.frame, envelope.lane, envelope.key);
      return;
    }
    let targets: Iterable<Connection>;
    if (envelope.kind === 'presence') targets = this.#rooms.get(envelope.target) ?? [];
    else if (envelope.kind === 'user') targets = this.#users.get(envelope.target) ?? [];
    else targets = this.#connections;
    const options: SendOptions = { lane: envelope.lane, key: envelope.key === '' ? undefined : envelope.key };
    for (const connection of targets) {
      if (envelope.ack) connection.sendWithAck(envelope.mid, envelope.frame, options, this.deps.clock.now());
      else connection.send(envelope.frame, options);
      this.#totals.delivered += 1;
    }
  }

  /** Sets what console events a connection follows; answers the names it will get (its role allowing). */
  #followEvents(connection: Connection, names: readonly string[] | undefined): EventName[] {
    names?.forEach((name, i) => {
      if (!isEventName(name))
        throw new PhError('PH_INVALID_INPUT', `There is no console event ${JSON.stringify(name)}`, { field: `events.${i}` });
    });
    const followed = (names ?? eventNames) as readonly EventName[];
    connection.consoleEvents = names === undefined ? 'all' : new Set(followed);
    return followed.filter((name) => roleAllows(connection.caller.role, events[name].minRole));
  }

  #anyoneFollows(event: EventName): boolean {
    if (this.#eventListeners.size > 0) return true;
    for (const connection of this.#connections) if (connection.follows(event)) return true;
    return false;
  }

  /**
   * The console's event stream, as the hub delivers it: this node's events and, with Redis, the
   * cluster-wide ones raised on other nodes. The desktop shell's IPC bridge listens here, so the
   * Electron console gets the same stream as a browser on `/ws`.
   */
  subscribeEvents(listener: (message: EventMessage) => void): () => void {
    this.#eventListeners.add(listener);
    return () => this.#eventListeners.delete(listener);
  }

  #deliverEvent(name: EventName, message: EventMessage | null, frame: Buffer, lane: Lane, key: string): void {
    const minRole = events[name].minRole;
    const options: SendOptions = key === '' ? { lane } : { lane, key };
    for (const connection of this.#connections)
      if (connection.follows(name) && roleAllows(connection.caller.role, minRole)) connection.send(frame, options);
    if (this.#eventListeners.size === 0) return;
    let parsed = message;
    if (parsed === null) {
      const { event, payload } = JSON.parse(frame.toString('utf8')) as EventMessage;
      parsed = { event, payload } as EventMessage;
    }
    for (const listener of this.#eventListeners) {
      try {
        listener(parsed);
      } catch (err) {
        this.deps.logger.warn({ err }, 'realtime: an event listener failed');
      }
    }
  }

  #sendRoomFrame(connection: Connection, data: Buffer, options: SendOptions): void {
    if (options.ackMid !== undefined) connection.sendWithAck(options.ackMid, data, options, this.deps.clock.now());
    else connection.send(data, options);
  }

  #countRoom(room: string): void {
    const entry = this.#roomCounts.get(room);
    if (entry === undefined) this.#roomCounts.set(room, { total: 1, rate: 0, last: 0 });
    else entry.total += 1;
  }

  // ---- timers -----------------------------------------------------------------------------------

  #heartbeat(): void {
    for (const connection of this.#connections) {
      if (connection.heartbeat()) continue;
      this.#totals.closedHeartbeat += 1;
      connection.ws.terminate();
      void this.#cleanup(connection);
    }
  }

  #retryAcks(): void {
    const now = this.deps.clock.now();
    for (const connection of this.#connections) if (connection.pendingAckCount > 0) connection.retryAcks(now);
  }

  #refreshPresence(): void {
    const entries: { room: string; user: string }[] = [];
    for (const [room, users] of this.#roomUsers) for (const user of users.keys()) entries.push({ room, user });
    if (entries.length === 0) return;
    void this.backplane
      .presenceRefresh(entries)
      .catch((err: Error) => this.deps.logger.debug({ err: err.message }, 'realtime presence refresh failed'));
  }

  #tickStats(): void {
    const now = this.deps.clock.now();
    const seconds = this.#lastTotals.at === 0 ? 1 : Math.max(0.001, (now - this.#lastTotals.at) / 1000);
    this.#rates = {
      publishedPerSecond: (this.#totals.published - this.#lastTotals.published) / seconds,
      deliveredPerSecond: (this.#totals.delivered - this.#lastTotals.delivered) / seconds,
      inboundPerSecond: (this.#totals.inbound - this.#lastTotals.inbound) / seconds,
    };
    this.#lastTotals = { published: this.#totals.published, delivered: this.#totals.delivered, inbound: this.#totals.inbound, at: now };
    for (const [room, entry] of this.#roomCounts) {
      entry.rate = (entry.total - entry.last) / seconds;
      entry.last = entry.total;
      if (entry.rate === 0 && !this.#rooms.has(room)) this.#roomCounts.delete(room);
    }
    const users: Record<string, number> = {};
    for (const [user, set] of this.#users) users[user] = set.size;
    void this.backplane.reportStats({ node: this.node, connections: this.#connections.size, users, at: now }).catch(() => undefined);
    // The console's Real-time view follows this event; build it only when someone follows it.
    this.#statsTick += 1;
    if (this.#statsTick % 2 === 0 && this.#anyoneFollows('realtime.stats')) {
      void this.stats().then(
        (stats) => this.deps.bus.publish('realtime.stats', stats),
        () => undefined,
      );
    }
  }

  /** What the console's Real-time view shows. */
  async stats(): Promise<RealtimeStats> {
    const now = this.deps.clock.now();
    const lanes = { high: 0, normal: 0, low: 0 };
    const totals = { ...this.#totals };
    const slowClients: RealtimeStats['slowClients'] = [];
    for (const connection of this.#connections) {
      const depths = connection.queueDepths();
      lanes.high += depths.high;
      lanes.normal += depths.normal;
      lanes.low += depths.low;
      const s = connection.stats;
      totals.dropped += s.dropped;
      totals.coalesced += s.coalesced;
      totals.retried += s.retried;
      totals.ackExpired += s.ackExpired;
      totals.rateLimited += s.rateLimited;
      const held = connection.heldBytes;
      if (held >= this.options.highWaterBytes || s.dropped > 0) {
        slowClients.push({ session: connection.session, user: connection.user, heldBytes: held, queued: depths, dropped: s.dropped });
      }
    }
    const nodes = await this.backplane.nodeStats().catch(() => []);
    const stale = this.options.pingIntervalMs * 3 + 3000;
    const rooms = [...this.#rooms].map(([room, members]) => ({
      room,
      members: members.size,
      users: this.#roomUsers.get(room)?.size ?? 0,
      messagesPerSecond: this.#roomCounts.get(room)?.rate ?? 0,
    }));
    rooms.sort((a, b) => b.members - a.members || a.room.localeCompare(b.room));
    let presence = 0;
    for (const users of this.#roomUsers.values()) presence += users.size;
    return {
      node: this.node,
      backplane: this.backplane.kind,
      healthy: this.backplane.healthy(),
      connections: this.#connections.size,
      byUser: [...this.#users].map(([user, set]) => ({ user, connections: set.size })).sort((a, b) => b.connections - a.connections),
      // This node is always live to itself; a report it wrote a while ago under load must not hide it.
      byNode: [
        { node: this.node, connections: this.#connections.size, at: now },
        ...nodes
          .filter((n) => n.node !== this.node && now - n.at < stale)
          .map((n) => ({ node: n.node, connections: n.connections, at: n.at })),
      ],
      rooms,
      presence,
      slowClients: slowClients.sort((a, b) => b.heldBytes - a.heldBytes).slice(0, 50),
      lanes,
      rates: this.#rates,
      totals: {
        published: totals.published,
        delivered: totals.delivered,
        dropped: totals.dropped,
        coalesced: totals.coalesced,
        retried: totals.retried,
        ackExpired: totals.ackExpired,
        rateLimited: totals.rateLimited,
        closedOverflow: totals.closedOverflow,
        closedHeartbeat: totals.closedHeartbeat,
      },
    };
  }
}
