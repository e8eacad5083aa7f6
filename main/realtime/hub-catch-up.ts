import type { Backplane } from './backplane';
import type { Lane, Position } from './client/frames';
import type { Connection } from './connection';
import { sendRoomFrame } from './hub-rooms';

const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

export interface CatchUp {
  /** Where the room stands after the catch-up (null: it has no position yet). */
  position: Position | null;
  /** The highest offset the client has now been given; live frames above it follow. */
  sent: number;
  replayed: number;
}

/**
 * Sends what a resuming client missed since `since`, or gap frames for what is gone (the epoch
 * changed, or history was trimmed or is not kept for this room).
 */
export async function catchUp(
  backplane: Backplane,
  limits: { historyMaxCount: number; historyMaxAgeMs: number },
  now: () => number,
  connection: Connection,
  room: string,
  rule: { history: boolean; lane: Lane },
  since: Position | undefined,
): Promise<CatchUp> {
  const { lane } = rule;
  const sendGap = (epoch: string, from: number, to: number | null, reason: string, position: Position) =>
    connection.send(json({ type: 'gap', room, epoch, from, to, reason, position }), { lane, droppable: false });
  if (since === undefined) {
    const position = await backplane.position(room);
    return { position, sent: position?.offset ?? 0, replayed: 0 };
  }
  let position = await backplane.position(room);
  if (position === null) {
    if (since.offset > 0) sendGap(since.epoch, since.offset + 1, null, 'epoch-changed', { epoch: '', offset: 0 });
    return { position, sent: 0, replayed: 0 };
  }
  let after = since.offset;
  if (position.epoch !== since.epoch) {
    sendGap(since.epoch, since.offset + 1, null, 'epoch-changed', { epoch: position.epoch, offset: 0 });
    after = 0;
  }
  if (!rule.history) {
    if (after < position.offset) sendGap(position.epoch, after + 1, position.offset, 'history-trimmed', position);
    return { position, sent: position.offset, replayed: 0 };
  }
  const limit = limits.historyMaxCount;
  let first = true;
  let replayed = 0;
  // Bounded: MAXLEN ~ may keep a little more than the limit, so read in pages until caught up.
  for (let page = 0; page < 20; page += 1) {
    const read = await backplane.read(room, after, limit, limits.historyMaxAgeMs);
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
      sendRoomFrame(connection, Buffer.from(frame), { lane, room, epoch: position.epoch, offset }, now());
      after = offset;
      replayed += 1;
    }
    if (read.frames.length < limit || after >= position.offset) break;
  }
  return { position, sent: after, replayed };
}
