import type { RawData } from 'ws';
import { PhError, toErrorBody } from '../../contract/errors';
import type { Clock } from '../clock';
import type { Logger } from '../logger';
import type { Backplane } from './backplane';
import type { SubscribeFrame } from './client/frames';
import type { Connection, SendOptions } from './connection';
import { catchUp } from './hub-catch-up';
import type { EventFanOut } from './hub-events';
import type { HubPublisher } from './hub-publish';
import { sendRoomFrame, type HubRooms } from './hub-rooms';
import type { HubTotals } from './hub-stats';
import type { HubOptions } from './options';
import { frameId, parseClientFrame } from './protocol';
import type { RoomPolicy } from './room-policy';

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));
const REPLY: SendOptions = { lane: 'high', droppable: false };
const ERROR: SendOptions = { lane: 'high' };

export interface HubProtocolDeps {
  readonly backplane: Backplane;
  readonly policy: RoomPolicy;
  readonly rooms: HubRooms;
  readonly publisher: HubPublisher;
  readonly events: EventFanOut;
  readonly totals: HubTotals;
  readonly options: HubOptions;
  readonly clock: Clock;
  readonly logger: Logger;
}

/**
 * What an admitted connection may say and what the hub answers: each frame is rate-limited,
 * parsed against the protocol, run, and answered with a `reply` or an `error` carrying the
 * frame's id and a catalogue code.
 */
export class HubProtocol {
  constructor(private readonly deps: HubProtocolDeps) {}

  onMessage(connection: Connection, data: RawData): void {
    if (connection.closed) return;
    this.deps.totals.inbound += 1;
    const text = data.toString();
    if (!connection.admit(this.deps.clock.now())) {
      connection.send(
        json({
          type: 'error',
          id: frameId(text),
          ...new PhError(
            'PH_RATE_LIMITED',
            `More than ${this.deps.options.rateLimitPerSecond} frames a second; this one was dropped`,
          ).toBody(),
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
    const { backplane, policy, rooms, options } = this.deps;
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
        return this.#reply(connection, id, { events: this.deps.events.follow(connection, frame.events) });
      case 'auth':
        throw new PhError('PH_CONFLICT', 'This connection is already authenticated');
      case 'subscribe':
        return this.#reply(connection, id, await this.#subscribe(connection, frame));
      case 'unsubscribe':
        if (connection.rooms.has(frame.room)) await rooms.leave(connection, frame.room);
        return this.#reply(connection, id, { room: frame.room });
      case 'publish':
        return this.#reply(connection, id, await this.deps.publisher.publishFrame(connection.caller, connection.user, frame));
      case 'presence':
        policy.assertSubscribe(connection.caller, frame.room);
        return this.#reply(connection, id, { room: frame.room, members: await backplane.presenceList(frame.room) });
      case 'history': {
        const rule = policy.assertSubscribe(connection.caller, frame.room);
        if (!rule.history)
          return this.#reply(connection, id, { room: frame.room, position: await backplane.position(frame.room), messages: [] });
        const read = await backplane.read(frame.room, undefined, frame.limit ?? 100, options.historyMaxAgeMs);
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

  /** Joins the room, replays what the client missed, then lets the live frames that came in meanwhile through. */
  async #subscribe(connection: Connection, frame: SubscribeFrame): Promise<unknown> {
    const { backplane, policy, rooms, options, clock } = this.deps;
    const { room } = frame;
    const rule = policy.assertSubscribe(connection.caller, room);
    const replay = { offset: 0, frames: [] as { offset: number; data: Buffer; options: SendOptions }[] };
    connection.replaying.set(room, replay);
    try {
      await rooms.join(connection, room, frame.presence ?? {});
      const { position, sent, replayed } = await catchUp(backplane, options, () => clock.now(), connection, room, rule, frame.since);
      // Live frames that came in during the replay, past what it covered.
      for (const item of replay.frames) if (item.offset > sent) sendRoomFrame(connection, item.data, item.options, clock.now());
      connection.replaying.delete(room);
      return { room, position, replayed, members: await backplane.presenceList(room) };
    } catch (err) {
      connection.replaying.delete(room);
      if (connection.rooms.has(room)) await rooms.leave(connection, room).catch(() => undefined);
      throw err instanceof PhError
        ? err
        : new PhError('PH_REALTIME_UNAVAILABLE', `Could not subscribe to ${room}: the backplane did not answer`, { cause: err });
    }
  }
}
