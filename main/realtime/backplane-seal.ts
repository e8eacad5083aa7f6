import type { Lane } from '../../contract/realtime-frames';
import type { FleetSeal } from '../fleet';

/**
 * How the Redis backplane signs what crosses Redis, with the fleet seal: every header carries the
 * sender node, its clock and a MAC over the routing fields and the frame. A room message is
 * completed inside Redis (its epoch and offset are added by the publish script), so its MAC covers
 * the text around them (`head`, `tail`) and the header says where `head` ends; the same MAC is
 * stored beside the frame in the room's stream, so history read back is checked too.
 */

const LANES = new Set<string>(['high', 'normal', 'low']);
export const ROOM = 'realtime.room';
export const DIRECT = 'realtime.direct';
export const EVENT = 'realtime.event';
export const PRESENCE = 'realtime.presence';
/** A node's claim that a user is present in a room, with their metadata, kept in the room's presence hash. */
export const MEMBER = 'realtime.member';
export const HISTORY = 'realtime.history';
export const STATS = 'realtime.stats';

export interface RoomFields {
  readonly lane: Lane;
  readonly ack: boolean;
  readonly mid: string;
  readonly key: string;
}

/** `node|at|mac|headBytes|lane|ack|mid|key`: what the publish script puts in the header and the stream. */
export function roomSeal(seal: FleetSeal, room: string, fields: RoomFields, head: string, tail: string): string {
  const at = seal.now();
  const ack = fields.ack ? '1' : '0';
  const mac = seal.mac(ROOM, room, seal.nodeId, at, [fields.lane, ack, fields.mid, fields.key, head, tail]);
  return `${seal.nodeId}|${at}|${mac}|${Buffer.byteLength(head)}|${fields.lane}|${ack}|${fields.mid}|${fields.key}`;
}

/**
 * Checks a room message (live, `fresh`) or a stored one: `sealText` as `roomSeal` made it, and the
 * frame Redis completed with `epoch` and `offset`. Returns the routing fields, or null (counted).
 */
export function openRoom(
  seal: FleetSeal,
  kind: typeof ROOM | typeof HISTORY,
  room: string,
  sealText: string,
  frame: Buffer,
  epoch: string,
  offset: number,
  fresh: boolean,
): RoomFields | null {
  const parts = sealText.split('|');
  if (parts.length < 8) return seal.reject(kind, 'malformed');
  const [node, atText, mac, headText, lane, ack, mid] = parts as [string, string, string, string, string, string, string];
  const key = parts.slice(7).join('|');
  const headBytes = Number(headText);
  const middle = Buffer.from(`${epoch}","offset":${offset}`);
  if (!LANES.has(lane) || !Number.isInteger(headBytes) || headBytes < 0 || headBytes + middle.length > frame.length) {
    return seal.reject(kind, 'malformed');
  }
  if (!frame.subarray(headBytes, headBytes + middle.length).equals(middle)) return seal.reject(kind, 'malformed');
  const head = frame.subarray(0, headBytes);
  const tail = frame.subarray(headBytes + middle.length);
  // The same MAC serves the live message and its stored copy: both are checked as ROOM, counted as `kind`.
  const ok = seal.verify(ROOM, room, node, Number(atText), mac, [lane, ack, mid, key, head, tail], fresh, kind);
  return ok ? { lane: lane as Lane, ack: ack === '1', mid, key } : null;
}

/** `node|at|mac|` + fields for a message the node writes whole (direct, event, presence). */
export function sealHeader(seal: FleetSeal, kind: string, subject: string, fields: readonly string[], frame: Buffer | string): string {
  const at = seal.now();
  return `${seal.nodeId}|${at}|${seal.mac(kind, subject, seal.nodeId, at, [...fields, frame])}|${fields.join('|')}`;
}

/**
 * Checks a header made by `sealHeader` with `count` fields (the last may hold `|`); returns the
 * sender and the fields, or null (counted).
 */
export function openHeader(
  seal: FleetSeal,
  kind: string,
  subject: string,
  header: string,
  count: number,
  frame: Buffer,
): { node: string; fields: string[] } | null {
  const parts = header.split('|');
  if (parts.length < 3 + count) return seal.reject(kind, 'malformed');
  const [node, atText, mac] = parts as [string, string, string];
  const fields = [...parts.slice(3, 2 + count), parts.slice(2 + count).join('|')];
  return seal.verify(kind, subject, node, Number(atText), mac, [...fields, frame]) ? { node, fields } : null;
}
