import type { Clock } from '../clock';
import type { Logger } from '../logger';
import type { Backplane, Envelope } from './backplane';
import type { Connection, HeldFrame, SendOptions } from './connection';
import { hold, placeOf, sendRoomFrame } from './room-order';

/**
 * Who is connected to this node and where: the connections, each user's connections, each room's
 * members and the local count per user per room (presence changes when it goes 0 → 1 and 1 → 0),
 * and the delivery of the backplane's envelopes to them. The backplane watches a room or a user
 * channel while this node has someone in it.
 */
export class HubRooms {
  readonly connections = new Set<Connection>();
  readonly rooms = new Map<string, Set<Connection>>();
  readonly roomUsers = new Map<string, Map<string, number>>();
  readonly users = new Map<string, Set<Connection>>();

  constructor(
    private readonly backplane: Backplane,
    private readonly clock: Clock,
    private readonly logger: Logger,
    /** Counts frames handed to connections, for the hub's totals. */
    private readonly onDelivered: (count: number) => void,
    /** Counts every room message this node hears, whether or not anyone here is in the room. */
    private readonly onRoomMessage: (room: string) => void,
    /** Live frames held for a connection during a replay are bounded by its byte cap. */
    private readonly maxHeldBytes: number,
    /** A live frame that follows a hole in what the connection was given: replay the hole, then send it. */
    private readonly onHole: (connection: Connection, room: string, frame: HeldFrame) => void,
  ) {}

  add(connection: Connection): void {
    this.connections.add(connection);
    let users = this.users.get(connection.user);
    if (users === undefined) {
      this.users.set(connection.user, (users = new Set()));
      void this.backplane
        .watch({ user: connection.user })
        .catch((err: Error) => this.logger.warn({ err: err.message }, 'realtime: cannot watch user channel'));
    }
    users.add(connection);
  }

  /** Forgets a connection; false when it was already gone. Its rooms are left by `leave`. */
  remove(connection: Connection): boolean {
    if (!this.connections.delete(connection)) return false;
    const users = this.users.get(connection.user);
    users?.delete(connection);
    if (users?.size === 0) {
      this.users.delete(connection.user);
      this.backplane.unwatch({ user: connection.user });
    }
    return true;
  }

  /** Adds the connection to the room (once), watching the room and announcing the user when first here. */
  async join(connection: Connection, room: string, presence: Record<string, unknown>): Promise<void> {
    if (connection.rooms.has(room)) return;
    connection.rooms.add(room);
    let members = this.rooms.get(room);
    if (members === undefined) this.rooms.set(room, (members = new Set()));
    members.add(connection);
    if (members.size === 1) await this.backplane.watch({ room });
    let users = this.roomUsers.get(room);
    if (users === undefined) this.roomUsers.set(room, (users = new Map()));
    const count = (users.get(connection.user) ?? 0) + 1;
    users.set(connection.user, count);
    if (count === 1) await this.backplane.presenceJoin(room, connection.user, presence);
  }

  async leave(connection: Connection, room: string): Promise<void> {
    connection.rooms.delete(room);
    connection.delivered.delete(room);
    const members = this.rooms.get(room);
    members?.delete(connection);
    if (members?.size === 0) {
      this.rooms.delete(room);
      this.backplane.unwatch({ room });
    }
    const users = this.roomUsers.get(room);
    const count = (users?.get(connection.user) ?? 1) - 1;
    if (count > 0) {
      users?.set(connection.user, count);
      return;
    }
    users?.delete(connection.user);
    if (users?.size === 0) this.roomUsers.delete(room);
    await this.backplane.presenceLeave(room, connection.user);
  }

  /** Every (room, user) present here, for the backplane's presence refresh. */
  presenceEntries(): { room: string; user: string }[] {
    const entries: { room: string; user: string }[] = [];
    for (const [room, users] of this.roomUsers) for (const user of users.keys()) entries.push({ room, user });
    return entries;
  }

  /** Hands a room, presence, user or broadcast envelope to the local connections it is for (events go elsewhere). */
  deliver(envelope: Envelope): void {
    if (envelope.kind === 'room') return this.#deliverRoom(envelope);
    let targets: Iterable<Connection>;
    if (envelope.kind === 'presence') targets = this.rooms.get(envelope.target) ?? [];
    else if (envelope.kind === 'user') targets = this.users.get(envelope.target) ?? [];
    else targets = this.connections;
    const options: SendOptions = { lane: envelope.lane, key: envelope.key === '' ? undefined : envelope.key };
    for (const connection of targets) {
      if (envelope.ack) connection.sendWithAck(envelope.mid, envelope.frame, options, this.clock.now());
      else connection.send(envelope.frame, options);
      this.onDelivered(1);
    }
  }

  /** A connection still replaying the room's history holds live frames until the replay has gone out. */
  #deliverRoom(envelope: Envelope): void {
    const members = this.rooms.get(envelope.target);
    this.onRoomMessage(envelope.target);
    if (members === undefined) return;
    const options: SendOptions = {
      lane: envelope.lane,
      key: envelope.key === '' ? undefined : envelope.key,
      room: envelope.target,
      epoch: envelope.epoch,
      offset: envelope.offset,
    };
    const frame: HeldFrame = {
      offset: envelope.offset,
      data: envelope.frame,
      options: envelope.ack ? { ...options, ackMid: envelope.mid } : options,
    };
    for (const connection of members) {
      const replay = connection.replaying.get(envelope.target);
      if (replay !== undefined) {
        hold(replay, frame, this.maxHeldBytes);
        continue;
      }
      const place = placeOf(connection, envelope.target, envelope.epoch, envelope.offset);
      if (place === 'seen') continue;
      if (place === 'after-hole') {
        this.onHole(connection, envelope.target, frame);
        continue;
      }
      connection.delivered.set(envelope.target, { epoch: envelope.epoch, offset: envelope.offset });
      sendRoomFrame(connection, envelope.frame, frame.options, this.clock.now());
    }
    this.onDelivered(members.size);
  }
}
