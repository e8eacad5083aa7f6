import type { Connection, HeldFrame, Replay, SendOptions } from './connection';

/*
 * The order rules of a room's frames on one connection, shared by live delivery (hub-rooms.ts)
 * and replays (hub-catch-up.ts).
 */

/** A room frame goes out acknowledged when it carries the mid the client must ack. */
export function sendRoomFrame(connection: Connection, data: Buffer, options: SendOptions, now: number): void {
  if (options.ackMid !== undefined) connection.sendWithAck(options.ackMid, data, options, now);
  else connection.send(data, options);
}

/**
 * Where a live room frame stands for a connection, from the newest offset it was given: `seen` (a
 * live copy of a message a replay already sent: each offset reaches a connection once), `next`, or
 * `after-hole` (a new epoch, or offsets skipped that pub/sub lost): the hole must be replayed or
 * reported before it.
 */
export function placeOf(connection: Connection, room: string, epoch: string, offset: number): 'seen' | 'next' | 'after-hole' {
  const last = connection.delivered.get(room);
  if (last === undefined) return 'next';
  if (last.epoch === epoch) return offset <= last.offset ? 'seen' : offset === last.offset + 1 ? 'next' : 'after-hole';
  return 'after-hole';
}

/**
 * Keeps a live frame until the replay has gone out. Past `maxBytes` (half the connection's cap) the held frames
 * are let go, and the replay reads on in history past the highest of them instead.
 */
export function hold(replay: Replay, frame: HeldFrame, maxBytes: number): void {
  replay.frames.push(frame);
  replay.bytes += frame.data.length;
  if (replay.bytes <= maxBytes) return;
  for (const held of replay.frames) replay.discardedUpTo = Math.max(replay.discardedUpTo, held.offset);
  replay.frames.length = 0;
  replay.bytes = 0;
}
