import type { Backplane } from './backplane';
import type { Lane, Position } from '../../contract/realtime-frames';
import type { Logger } from '../logger';
import type { Connection, HeldFrame, Replay } from './connection';
import { hold, placeOf, sendRoomFrame } from './room-order';
import type { RoomPolicy } from './room-policy';

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

export interface CatchUp {
  /** Where the room stood when the catch-up ended: the reply's `position`. */
  position: Position;
  /** The highest offset (in `position.epoch`) the client has now been given; live frames above it follow. */
  sent: number;
  replayed: number;
}

export interface CatchUpDeps {
  readonly backplane: Backplane;
  readonly limits: { historyMaxCount: number; historyMaxAgeMs: number; maxBufferedBytes: number };
  readonly now: () => number;
}

type GapReason = 'history-trimmed' | 'epoch-changed' | 'dropped' | 'rewound';

/**
 * Live frames held during a replay: half the connection's cap, so that once the replay has drained
 * they go out (with the reply) without passing the cap, even an ack-required one that may not be shed.
 */
export const heldBytesCap = (limits: { maxBufferedBytes: number }): number => Math.floor(limits.maxBufferedBytes / 2);

/** Starts holding the room's live frames for the connection until the replay has gone out. */
function beginReplay(connection: Connection, room: string): Replay {
  let finish = (): void => undefined;
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const replay: Replay = { frames: [], bytes: 0, discardedUpTo: 0, finished, finish };
  connection.replaying.set(room, replay);
  return replay;
}

function endReplay(connection: Connection, room: string, replay: Replay): void {
  if (connection.replaying.get(room) === replay) connection.replaying.delete(room);
  replay.finish();
}

/**
 * Sends live frames in order while each is the next one; returns those from the first that follows
 * a hole (a replay must cover the hole first).
 */
export function sendInOrder(connection: Connection, room: string, frames: readonly HeldFrame[], now: number): HeldFrame[] {
  for (const [index, item] of frames.entries()) {
    const epoch = item.options.epoch ?? '';
    const place = placeOf(connection, room, epoch, item.offset);
    if (place === 'seen') continue;
    if (place === 'after-hole') return frames.slice(index);
    connection.delivered.set(room, { epoch, offset: item.offset });
    sendRoomFrame(connection, item.data, item.options, now);
  }
  return [];
}

/**
 * Replays rooms to connections: on a subscribe with `since`, and when a live frame shows that a
 * connection missed some (its room's epoch changed, or pub/sub lost frames): the live frames wait,
 * the history (or a gap) goes out, then the live frames follow.
 */
export class RoomReplays {
  constructor(private readonly deps: CatchUpDeps & { readonly policy: RoomPolicy; readonly logger: Logger }) {}

  /** Joins (through `join`, while live frames are already held), then catches up from `since`. */
  async subscribe(
    connection: Connection,
    room: string,
    rule: { history: boolean; lane: Lane },
    since: Position | undefined,
    join: () => Promise<void>,
  ): Promise<CatchUp> {
    // Another subscribe to the room is replaying (the client library resubscribes on connect): after it.
    for (let running = connection.replaying.get(room); running !== undefined; running = connection.replaying.get(room))
      await running.finished;
    const replay = beginReplay(connection, room);
    try {
      await join();
      const done = await catchUp(this.deps, connection, room, rule, since, replay);
      // The held frames (at most half the cap) and the reply then fit whatever the replay left queued.
      await connection.drained();
      this.#finish(connection, room, replay, done);
      return done;
    } catch (err) {
      endReplay(connection, room, replay);
      throw err;
    }
  }

  /**
   * Live frames that follow a hole in what the connection was given: the hole is replayed (or
   * reported) first. With no frames, whatever the connection misses of the room now (its epoch gone
   * from an emptied Redis) is, without waiting for the room's next message.
   */
  resume(connection: Connection, room: string, frames: readonly HeldFrame[]): void {
    const since = connection.delivered.get(room);
    const running = connection.replaying.get(room);
    if (running !== undefined) {
      for (const frame of frames) hold(running, frame, heldBytesCap(this.deps.limits));
      return;
    }
    if (since === undefined || connection.closed) return;
    const replay = beginReplay(connection, room);
    for (const frame of frames) hold(replay, frame, heldBytesCap(this.deps.limits));
    void catchUp(this.deps, connection, room, this.deps.policy.rule(room), since, replay).then(
      async (done) => {
        await connection.drained();
        this.#finish(connection, room, replay, done);
      },
      (err: Error) => {
        const first = frames[0];
        this.deps.logger.debug({ err: err.message, room }, 'realtime: could not replay a hole; reporting it as a gap');
        if (first === undefined) return endReplay(connection, room, replay);
        this.#reportHole(connection, room, since, first);
        this.#finish(connection, room, replay, {
          position: { epoch: first.options.epoch ?? '', offset: first.offset - 1 },
          sent: first.offset - 1,
          replayed: 0,
        });
      },
    );
  }

  /** The backplane could not be read: the hole is said out loud instead of replayed. */
  #reportHole(connection: Connection, room: string, since: Position, first: HeldFrame): void {
    const epoch = first.options.epoch ?? '';
    const position = { epoch, offset: first.offset - 1 };
    const lane = first.options.lane;
    const gap =
      since.epoch === epoch
        ? { type: 'gap', room, epoch, from: since.offset + 1, to: first.offset - 1, reason: 'history-trimmed', position }
        : { type: 'gap', room, epoch: since.epoch, from: since.offset + 1, to: null, reason: 'epoch-changed', position };
    connection.send(json(gap), { lane, droppable: false, room });
  }

  #finish(connection: Connection, room: string, replay: Replay, done: CatchUp): void {
    endReplay(connection, room, replay);
    if (connection.closed || !connection.rooms.has(room)) return;
    let sent = done.sent;
    const { epoch } = done.position;
    if (replay.discardedUpTo > sent) {
      // Live frames let go past the replay's reach (a room without history, or while the reply waited).
      const position = { epoch, offset: replay.discardedUpTo };
      const gap = { type: 'gap', room, epoch, from: sent + 1, to: replay.discardedUpTo, reason: 'dropped', position };
      connection.send(json(gap), { lane: this.deps.policy.rule(room).lane, droppable: false, room });
      sent = replay.discardedUpTo;
    }
    connection.delivered.set(room, { epoch, offset: sent });
    const rest = sendInOrder(connection, room, replay.frames, this.deps.now());
    if (rest.length > 0) this.resume(connection, room, rest);
  }
}

/**
 * Sends what a client missed since `since`, or gap frames for what is gone: the epoch changed,
 * history was trimmed or is not kept for this room, or the room is behind `since` (it was rewound).
 * Every frame waits for the connection to drain first, so a replay of any length reaches a client
 * that keeps reading without ever passing its cap; one that stops reading holds the replay, not
 * the node's memory, until its heartbeat closes it.
 */
export async function catchUp(
  deps: CatchUpDeps,
  connection: Connection,
  room: string,
  rule: { history: boolean; lane: Lane },
  since: Position | undefined,
  replay: Replay,
): Promise<CatchUp> {
  const { backplane, limits } = deps;
  const { lane } = rule;
  const head = await backplane.origin(room, rule.history);
  if (since === undefined) return { position: head, sent: head.offset, replayed: 0 };
  const sendGap = async (epoch: string, from: number, to: number | null, reason: GapReason, position: Position) => {
    await connection.drained();
    connection.send(json({ type: 'gap', room, epoch, from, to, reason, position }), { lane, droppable: false, room });
  };
  if (since.epoch === head.epoch && since.offset > head.offset) {
    await sendGap(head.epoch, head.offset + 1, since.offset, 'rewound', head);
    return { position: head, sent: head.offset, replayed: 0 };
  }
  let after = since.offset;
  if (since.epoch !== head.epoch) {
    await sendGap(since.epoch, since.offset + 1, null, 'epoch-changed', { epoch: head.epoch, offset: 0 });
    after = 0;
  }
  if (!rule.history) {
    if (after < head.offset) await sendGap(head.epoch, after + 1, head.offset, 'history-trimmed', head);
    return { position: head, sent: head.offset, replayed: 0 };
  }
  let position = head;
  let replayed = 0;
  const stillWanted = () => !connection.closed && connection.rooms.has(room);
  while (stillWanted()) {
    const start = after;
    const read = await backplane.read(room, after, limits.historyMaxCount, limits.historyMaxAgeMs);
    // The epoch changed under the replay: the next live frame shows it, and catches up again.
    if (read.position === null || read.position.epoch !== position.epoch) break;
    position = read.position;
    if (read.oldest > after + 1 && after < position.offset) {
      const to = Math.min(read.oldest - 1, position.offset);
      await sendGap(position.epoch, after + 1, to, 'history-trimmed', { epoch: position.epoch, offset: to });
      after = to;
    }
    for (const { offset, frame } of read.frames) {
      if (offset <= after) continue;
      await connection.drained();
      if (!stillWanted()) break;
      sendRoomFrame(connection, Buffer.from(frame), { lane, room, epoch: position.epoch, offset }, deps.now());
      after = offset;
      replayed += 1;
    }
    const target = Math.max(position.offset, replay.discardedUpTo);
    if (after >= target) break;
    if (after === start) {
      // Nothing more is readable (expired, or trimmed as it was read): say so rather than stop short.
      await sendGap(position.epoch, after + 1, target, 'history-trimmed', { epoch: position.epoch, offset: target });
      after = target;
      break;
    }
  }
  return { position: { epoch: position.epoch, offset: Math.max(position.offset, after) }, sent: after, replayed };
}
