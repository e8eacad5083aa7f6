import type { RawData } from 'ws';
import { PhError, toErrorBody } from '../../contract/errors';
import type { ClientFrame, PresenceMember, PublishFrame, SubscribeFrame } from '../../contract/realtime-frames';
import type { Logger } from '../logger';
import type { Caller, CountedCall } from '../core';
import type { RateDecision } from '../ratelimit';
import type { Backplane } from './backplane';
import type { Connection, SendOptions } from './connection';
import type { RoomReplays } from './hub-catch-up';
import type { EventFanOut } from './hub-events';
import type { HubPublisher } from './hub-publish';
import type { HubRooms } from './hub-rooms';
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
  readonly replays: RoomReplays;
  readonly publisher: HubPublisher;
  readonly events: EventFanOut;
  readonly totals: HubTotals;
  readonly options: HubOptions;
  readonly logger: Logger;
  /**
   * Spends one unit of the caller's rate-limit budget: its key's tier, the same budget its HTTP
   * requests spend (fleet-wide with Redis).
   */
  readonly budget: (caller: Caller) => Promise<RateDecision>;
  /** Tallies a publish frame for the audit log, as the `realtime.publish` operation is. */
  readonly counted: (call: CountedCall) => void;
}

/** An acknowledgement answers the server (one per message it asked to be acked): it costs the client nothing. */
const FREE: Promise<null> = Promise.resolve(null);

/**
 * What an admitted connection may say and what the hub answers: each frame is parsed against the
 * protocol, counted against its key's rate-limit tier, run, and answered with a `reply` or an
 * `error` carrying the frame's id and a catalogue code.
 */
export class HubProtocol {
  constructor(private readonly deps: HubProtocolDeps) {}

  onMessage(connection: Connection, data: RawData): void {
    if (connection.closed) return;
    this.deps.totals.inbound += 1;
    connection.received();
    const text = data.toString();
    let frame: ClientFrame | PhError;
    try {
      frame = parseClientFrame(text);
    } catch (err) {
      frame = err instanceof PhError ? err : new PhError('PH_MALFORMED_BODY', 'The frame could not be read');
    }
    const spent = !(frame instanceof PhError) && frame.type === 'ack' ? FREE : this.deps.budget(connection.caller);
    void connection
      .inOrder(spent)
      .then((decision) => {
        if (connection.closed) return;
        if (decision !== null && !decision.allowed) return this.#refuse(connection, text, decision);
        if (frame instanceof PhError) throw frame;
        return this.#handle(connection, frame);
      })
      .catch((err: unknown) => {
        if (!(err instanceof PhError)) this.deps.logger.error({ err }, 'realtime frame failed');
        connection.send(json({ type: 'error', id: frameId(text), ...toErrorBody(err) }), ERROR);
      });
  }

  #refuse(connection: Connection, text: string, decision: RateDecision): void {
    connection.stats.rateLimited += 1;
    const error = new PhError(
      'PH_RATE_LIMITED',
      `The ${decision.tier} tier allows ${decision.limit ?? 'unlimited'} requests and frames per ${decision.windowSeconds} s; this frame was dropped (try again in ${decision.resetSeconds} s)`,
      { details: { tier: decision.tier, retryAfterSeconds: decision.resetSeconds } },
    );
    connection.send(json({ type: 'error', id: frameId(text), ...error.toBody() }), ERROR);
  }

  async #handle(connection: Connection, frame: ClientFrame): Promise<void> {
    const { backplane, policy, rooms, options } = this.deps;
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
        // Left here at once; when Redis does not take the presence leave, this node stops refreshing the entry and it expires.
        if (connection.rooms.has(frame.room)) await rooms.leave(connection, frame.room).catch(() => undefined);
        return this.#reply(connection, id, { room: frame.room });
      case 'publish':
        return this.#reply(connection, id, await this.#publish(connection, frame));
      case 'presence':
        policy.assertSubscribe(connection.caller, frame.room);
        return this.#reply(connection, id, { room: frame.room, ...(await this.#members(frame.room)) });
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

  async #publish(connection: Connection, frame: PublishFrame): Promise<unknown> {
    const { caller } = connection;
    const tally = (code: string | null): void =>
      this.deps.counted({
        actor: caller.actor,
        keyId: caller.keyId,
        action: 'realtime.publish',
        outcome: code === null ? 'ok' : 'error',
        code,
      });
    try {
      const published = await this.deps.publisher.publishFrame(caller, connection.user, frame);
      tally(null);
      return published;
    } catch (err) {
      tally(err instanceof PhError ? err.code : 'PH_INTERNAL');
      throw err;
    }
  }

  /** The room's members as a reply lists them: at most `maxPresenceListed`, with how many there are. */
  async #members(room: string): Promise<{ members: PresenceMember[]; membersTotal: number }> {
    const members = await this.deps.backplane.presenceList(room);
    return { members: members.slice(0, this.deps.options.maxPresenceListed), membersTotal: members.length };
  }

  #reply(connection: Connection, id: string | number | null, result: unknown): void {
    connection.send(json({ type: 'reply', id, result }), REPLY);
  }

  /**
   * Joins the room, replays what the client missed, then lets the live frames that came in meanwhile
   * through; later copies of any offset already sent (pub/sub can lag the stream the replay read)
   * are dropped as they arrive.
   */
  async #subscribe(connection: Connection, frame: SubscribeFrame): Promise<unknown> {
    const { policy, rooms, options, replays } = this.deps;
    const { room } = frame;
    const rule = policy.assertSubscribe(connection.caller, room);
    const metaBytes = frame.presence === undefined ? 0 : Buffer.byteLength(JSON.stringify(frame.presence));
    if (metaBytes > options.maxPresenceMetaBytes)
      throw new PhError(
        'PH_INVALID_INPUT',
        `Presence metadata may take ${options.maxPresenceMetaBytes} bytes as JSON; this takes ${metaBytes}: keep a name and a status there, and the rest elsewhere`,
        { field: 'presence' },
      );
    if (!connection.rooms.has(room) && connection.rooms.size >= options.maxSubscriptions)
      throw new PhError(
        'PH_REALTIME_TOO_MANY_ROOMS',
        `One connection may be in ${options.maxSubscriptions} rooms at once; unsubscribe from one, or open another connection`,
        { field: 'room' },
      );
    // A repeat subscribe that fails leaves the membership it found: its live messages keep coming.
    const member = connection.rooms.has(room);
    try {
      const { position, replayed } = await replays.subscribe(connection, room, rule, frame.since, () =>
        rooms.join(connection, room, frame.presence ?? {}),
      );
      return { room, position, replayed, ...(await this.#members(room)) };
    } catch (err) {
      if (!member && connection.rooms.has(room)) void rooms.leave(connection, room).catch(() => undefined);
      if (err instanceof PhError && err.code !== 'PH_REALTIME_UNAVAILABLE') throw err;
      const reason = err instanceof PhError ? err.message : `Could not subscribe to ${room}: the backplane did not answer`;
      throw new PhError('PH_REALTIME_UNAVAILABLE', member ? `${reason}; the connection is still in ${room}` : reason, { cause: err });
    }
  }
}
