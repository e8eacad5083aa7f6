import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Database } from 'better-sqlite3';
import type { Redis } from 'ioredis';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Static } from '@sinclair/typebox';
import { PhError } from '../../contract/errors';
import type { RealtimeMessageSchema } from '../../contract/ops/realtime';
import { fansOutToCluster, isEventName, type EventMessage } from '../../contract/events';
import { closeCodes, type Lane, type Position } from '../../contract/realtime-frames';
import type { Clock } from '../clock';
import { KeyConnections, type CallCounter, type Caller } from '../core';
import type { EventBus } from '../events';
import type { FleetSeal } from '../fleet';
import type { Logger } from '../logger';
import type { RateDecision } from '../ratelimit';
import { REDIS_CALL_TIMEOUT_MS, type RedisProbe } from '../redis';
import type { Authenticator } from '../security';
import type { Service, ServiceState } from '../service';
import type { Backplane, Envelope } from './backplane';
import { BoundedBackplane } from './bounded-backplane';
import { Connection, type SendOptions } from './connection';
import { CorkedWrites } from './corked-writes';
import { HubAdmission, revocationIn, revokes, sourceOf, throttledUpgradeResponse, type Revocation } from './hub-admission';
import { RoomReplays, heldBytesCap } from './hub-catch-up';
import { EventFanOut } from './hub-events';
import { HubProtocol } from './hub-protocol';
import { HubPublisher } from './hub-publish';
import { HubRooms } from './hub-rooms';
import { HubStats } from './hub-stats';
import { LocalBackplane } from './local-backplane';
import { hubOptions, presenceTtl, type HubOptions } from './options';
import { RedisBackplane } from './redis-backplane';
import { RoomPolicy } from './room-policy';
import type { RealtimeStats } from './stats';

export const REALTIME_PATH = '/ws';

/** A room message as the hub delivers it (contract/ops/realtime.ts `RealtimeMessageSchema`). */
export type RoomMessage = Static<typeof RealtimeMessageSchema>;

export interface RealtimeHubDeps {
  readonly authenticator: Authenticator;
  readonly bus: EventBus;
  readonly db: Database;
  /** The node's shared client (duplicated for the backplane), or null for a single machine. */
  readonly redis: Redis | null;
  /** Signs and checks what the backplane carries through Redis; required with `redis`. */
  readonly seal?: FleetSeal | null;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly options?: Partial<HubOptions>;
  /** This node's name in presence and stats (default: a random id per start). */
  readonly node?: string;
  /** Spends one unit of a caller's rate-limit budget (its key's tier) for each frame it sends. */
  readonly budget: (caller: Caller) => Promise<RateDecision>;
  /** Whether Redis answers (the node's probe): a stopped Redis leaves the backplane's clients `ready`. */
  readonly probe?: Pick<RedisProbe, 'trouble'> | null;
}

type Upgradable = { on(event: 'upgrade', cb: (req: IncomingMessage, socket: Duplex, head: Buffer) => void): unknown };

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
const REPLY: SendOptions = { lane: 'high', droppable: false };

/**
 * The real-time hub on `/ws`: authenticates connections (Authorization header on the upgrade, or a
 * first `auth` frame), then serves rooms, presence, history with replay, acknowledged delivery and
 * the console's event stream, over a backplane that is in-process (SQLite history) or Redis.
 * This file is the hub's life (start, attach, heartbeats, drain, stop) and its wiring; admission,
 * the frame protocol, rooms and delivery, catch-up, publishing, event fan-out and stats each have
 * a `hub-*.ts` file of their own.
 */
export class RealtimeHub implements Service {
  readonly name = 'realtime';
  readonly options: HubOptions;
  readonly node: string;
  readonly policy: RoomPolicy;
  readonly backplane: Backplane;
  readonly #wss: WebSocketServer;
  readonly #corkedWrites = new CorkedWrites();
  readonly #rooms: HubRooms;
  readonly #stats: HubStats;
  readonly #events: EventFanOut;
  readonly #publisher: HubPublisher;
  readonly #protocol: HubProtocol;
  readonly #admission: HubAdmission;
  readonly #replays: RoomReplays;
  readonly #keyConnections: KeyConnections;
  /** Where the socket's publishes are tallied for the audit log, once the operations are wired (`auditPublishes`). */
  #publishes: CallCounter | null = null;
  #state: ServiceState = 'idle';
  #draining = false;
  #timers: NodeJS.Timeout[] = [];
  #unsubscribeBus: (() => void) | null = null;
  #statsTick = 0;

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
    if (deps.redis !== null && (deps.seal === undefined || deps.seal === null)) throw new Error('A hub on Redis needs the fleet seal');
    this.backplane =
      deps.redis === null
        ? new LocalBackplane(deps.db, deps.clock, this.options)
        : new RedisBackplane(
            deps.redis,
            { node: this.node, ...this.options, presenceTtlMs: presenceTtl(this.options) },
            deps.seal as FleetSeal,
            deps.logger.child({ component: 'realtime-redis' }),
          );
    const now = () => deps.clock.now();
    // What clients' requests read and change in Redis answers within the publish's deadline.
    const bounded = BoundedBackplane.around(this.backplane, REDIS_CALL_TIMEOUT_MS);
    const replays = new RoomReplays({ backplane: bounded, limits: this.options, now, policy: this.policy, logger: deps.logger });
    this.#replays = replays;
    this.#rooms = new HubRooms(
      bounded,
      deps.clock,
      deps.logger,
      (count) => {
        this.#stats.totals.delivered += count;
      },
      (room) => this.#stats.countRoom(room),
      heldBytesCap(this.options),
      (connection, room, frame) => replays.resume(connection, room, [frame]),
    );
    this.#stats = new HubStats(this.node, this.backplane, this.#rooms, this.options);
    this.#events = new EventFanOut(this.#rooms.connections, deps.logger);
    this.#keyConnections = new KeyConnections(this.options.maxConnectionsPerKey);
    this.#publisher = new HubPublisher(this.node, this.backplane, this.policy, now, this.#stats.totals, REDIS_CALL_TIMEOUT_MS);
    this.#protocol = new HubProtocol({
      backplane: bounded,
      policy: this.policy,
      rooms: this.#rooms,
      replays,
      publisher: this.#publisher,
      events: this.#events,
      totals: this.#stats.totals,
      options: this.options,
      logger: deps.logger,
      budget: deps.budget,
      counted: (call) => this.#publishes?.count(call),
    });
    this.#admission = new HubAdmission({
      authenticator: deps.authenticator,
      logger: deps.logger,
      authDeadlineMs: this.options.authDeadlineMs,
      admit: (ws, caller, socket) => this.#admit(ws, caller, socket),
      onMessage: (connection, data) => this.#protocol.onMessage(connection, data),
    });
  }

  get connectionCount(): number {
    return this.#rooms.connections.size;
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
      this.#events.deliver(message.event, message, frame, lane, key);
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
      this.#wss.handleUpgrade(req, socket, head, (ws) => this.#admission.accept(ws, req, socket));
    });
  }

  /** Stops accepting and tells every client to reconnect (to another node, or here after restart). */
  close(): void {
    if (this.#draining) return;
    this.#draining = true;
    this.#unsubscribeBus?.();
    this.#unsubscribeBus = null;
    for (const connection of this.#rooms.connections) {
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
    await Promise.allSettled([...this.#rooms.connections].map((c) => this.#cleanup(c)));
    for (const connection of this.#rooms.connections) connection.ws.terminate();
    this.#wss.close();
    await this.backplane.stop();
    this.#state = 'stopped';
  }

  status(): { state: ServiceState; detail?: string } {
    if (this.#state === 'running' && !this.backplane.healthy()) return { state: 'degraded', detail: 'redis backplane not connected' };
    const trouble = this.backplane.kind === 'redis' ? (this.deps.probe?.trouble() ?? null) : null;
    if (this.#state === 'running' && trouble !== null) return { state: 'degraded', detail: `redis backplane: ${trouble}` };
    // No connection count here: status changes are broadcast to every console, so keep the detail stable.
    if (this.#state === 'running') return { state: 'running', detail: `${this.backplane.kind} backplane, node ${this.node}` };
    return { state: this.#state };
  }

  /**
   * Publishes to a room: checks the caller may, numbers and stores the message (when the room keeps
   * history) and fans it out on every node. Resolves once stored: an acknowledged publication
   * survives the death of this node.
   */
  publish(
    room: string,
    data: unknown,
    options: { caller: Caller; from?: string; ack?: boolean; key?: string },
  ): Promise<{ mid: string; position: Position }> {
    return this.#publisher.publish(room, data, options);
  }

  /**
   * Tallies each `publish` frame in the audit log as `realtime.publish`, as the operation is, so a
   * key's messages through the socket are on record too (the counter is built after the hub).
   */
  auditPublishes(counter: CallCounter): void {
    this.#publishes = counter;
  }

  /** Server-side publish that skips room permissions (progress, system rooms). */
  publishAsServer(room: string, data: unknown, key?: string): Promise<{ mid: string; position: Position }> {
    return this.#publisher.publishAsServer(room, data, key);
  }

  /**
   * The console's event stream, as the hub delivers it: this node's events and, with Redis, the
   * cluster-wide ones raised on other nodes. The desktop shell's IPC bridge listens here, so the
   * Electron console gets the same stream as a browser on `/ws`.
   */
  subscribeEvents(listener: (message: EventMessage) => void): () => void {
    return this.#events.subscribe(listener);
  }

  /**
   * Follows a room in-process, as a client subscribed to it would (its rules checked for `caller`):
   * each message, from this node or another, until the returned function is called. GraphQL's
   * room subscriptions read rooms this way.
   */
  async followRoom(caller: Caller, room: string, listener: (message: RoomMessage) => void): Promise<() => void> {
    this.policy.assertSubscribe(caller, room);
    return this.#rooms.follow(room, (frame) => {
      const {
        type: _type,
        ack: _ack,
        key: _key,
        ...message
      } = JSON.parse(frame.toString('utf8')) as RoomMessage & { type: string; ack?: boolean; key?: string };
      listener(message);
    });
  }

  /**
   * After Redis came back empty (main/fleet's RedisEpoch): every room with connections here gets its
   * new epoch now, and each connection that had the old one an `epoch-changed` gap, rather than at
   * the room's next message.
   */
  async recheckEpochs(): Promise<void> {
    for (const [room, members] of this.#rooms.rooms) {
      const head = await this.backplane.origin(room, this.policy.rule(room).history).catch(() => null);
      if (head === null) continue;
      for (const connection of members) {
        const given = connection.delivered.get(room);
        if (given !== undefined && given.epoch !== head.epoch) this.#replays.resume(connection, room, []);
      }
    }
  }

  /** What the console's Real-time view shows. */
  stats(): Promise<RealtimeStats> {
    return this.#stats.snapshot(this.deps.clock.now());
  }

  #admit(ws: WebSocket, caller: Caller, socket: Duplex): Connection | null {
    const refused = this.#keyConnections.enter(caller);
    if (refused !== null) {
      ws.send(json({ type: 'error', ...refused.toBody() }));
      // 1013, not 1008: the credential is good and a later try is right, once one of the key's closes.
      ws.close(closeCodes.tryAgain, 'too many connections for this key');
      return null;
    }
    const session = randomBytes(9).toString('base64url');
    const connection = new Connection(
      ws,
      caller,
      session,
      caller.actor,
      this.options,
      () => {
        this.#stats.totals.closedOverflow += 1;
      },
      { socket, writes: this.#corkedWrites },
    );
    this.#rooms.add(connection);
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
    for (const connection of this.#rooms.connections) {
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
    if (!this.#rooms.remove(connection)) return;
    this.#keyConnections.leave(connection.caller);
    this.#stats.collect(connection);
    connection.markClosed();
    await Promise.allSettled([...connection.rooms].map((room) => this.#rooms.leave(connection, room)));
  }

  #deliver(envelope: Envelope): void {
    if (envelope.kind !== 'event') return this.#rooms.deliver(envelope);
    // Another node's event, by name: nodes run one contract, so an unknown name (a newer node) is dropped.
    if (envelope.target === 'auth.revoked') this.#endRevoked(revocationIn(envelope.frame));
    if (isEventName(envelope.target)) this.#events.deliver(envelope.target, null, envelope.frame, envelope.lane, envelope.key);
  }

  #heartbeat(): void {
    for (const connection of this.#rooms.connections) {
      if (connection.heartbeat()) continue;
      this.#stats.totals.closedHeartbeat += 1;
      connection.ws.terminate();
      void this.#cleanup(connection);
    }
  }

  #retryAcks(): void {
    const now = this.deps.clock.now();
    for (const connection of this.#rooms.connections) if (connection.pendingAckCount > 0) connection.retryAcks(now);
  }

  #refreshPresence(): void {
    const entries = this.#rooms.presenceEntries();
    if (entries.length === 0) return;
    void this.backplane
      .presenceRefresh(entries)
      .catch((err: Error) => this.deps.logger.debug({ err: err.message }, 'realtime presence refresh failed'));
  }

  #tickStats(): void {
    this.#stats.tick(this.deps.clock.now());
    // The console's Real-time view follows this event; build it only when someone follows it.
    this.#statsTick += 1;
    if (this.#statsTick % 2 === 0 && this.#events.anyoneFollows('realtime.stats')) {
      void this.stats().then(
        (stats) => this.deps.bus.publish('realtime.stats', stats),
        () => undefined,
      );
    }
  }
}
