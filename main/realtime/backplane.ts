import type { Lane, PresenceMember, Position } from '../../contract/realtime-frames';

/** A frame on its way to local connections, from this node or another. */
export interface Envelope {
  readonly kind: 'room' | 'user' | 'all' | 'presence' | 'event';
  /** The room (room, presence), user (user), or event name (a console event); empty for all. */
  readonly target: string;
  readonly lane: Lane;
  readonly ack: boolean;
  readonly mid: string;
  /** Room messages: their offset in `epoch`. */
  readonly epoch: string;
  readonly offset: number;
  readonly key: string;
  /** The complete frame, encoded once for every recipient. */
  readonly frame: Buffer;
}

/** A room message before the backplane gives it an epoch and offset: the frame around them. */
export interface RoomDraft {
  readonly mid: string;
  readonly lane: Lane;
  readonly ack: boolean;
  readonly key: string;
  /** JSON text up to and including `"epoch":"`. */
  readonly head: string;
  /** JSON text after the offset number, through the closing brace. */
  readonly tail: string;
  readonly at: number;
}

export interface HistoryRead {
  /** Where the room stands now (null: it has never had a message, or its history expired). */
  readonly position: Position | null;
  /** Stored frames in offset order. */
  readonly frames: readonly { offset: number; frame: string }[];
  /** The smallest offset still held (when frames is empty: position.offset + 1). */
  readonly oldest: number;
}

export interface BackplaneStats {
  readonly node: string;
  readonly connections: number;
  readonly users: Record<string, number>;
  readonly at: number;
}

/**
 * What the hub needs from the layer that carries frames between nodes and keeps history and
 * presence: in-process with SQLite history on one machine, Redis pub/sub + Streams on many.
 */
export interface Backplane {
  readonly kind: 'local' | 'redis';
  start(deliver: (envelope: Envelope) => void): Promise<void>;
  stop(): Promise<void>;
  healthy(): boolean;
  /** Stores (when `history`) and fans out to every node; resolves once stored, with the position. */
  publishRoom(room: string, draft: RoomDraft, history: boolean): Promise<Position>;
  publishDirect(kind: 'user' | 'all', target: string, envelope: Omit<Envelope, 'kind' | 'target' | 'epoch' | 'offset'>): Promise<void>;
  /**
   * Carries a console event raised on this node to every other node (which hands it to its
   * connections as an `event` envelope whose target is the event's name); nothing without Redis.
   */
  publishEvent(name: string, envelope: Pick<Envelope, 'lane' | 'key' | 'frame'>): Promise<void>;
  /** Start / stop receiving a room's (or a user's) live frames on this node. */
  watch(channel: { room: string } | { user: string }): Promise<void>;
  unwatch(channel: { room: string } | { user: string }): void;
  position(room: string): Promise<Position | null>;
  /**
   * Where a client that subscribes now stands: the room's head or, for a room with no message yet,
   * the epoch its first message will have, at offset 0, so that resuming from it misses nothing.
   */
  origin(room: string, history: boolean): Promise<Position>;
  /** Frames after `offset` (all held when undefined), oldest first, at most `limit`, none older than `maxAgeMs`. */
  read(room: string, afterOffset: number | undefined, limit: number, maxAgeMs: number): Promise<HistoryRead>;
  /** Marks `user` present in `room` on this node; true when no node had them (a join to announce). */
  presenceJoin(room: string, user: string, meta: Record<string, unknown>): Promise<boolean>;
  /** Removes `user` from `room` on this node; true when no node has them any more (a leave). */
  presenceLeave(room: string, user: string): Promise<boolean>;
  presenceList(room: string): Promise<PresenceMember[]>;
  /** Keeps this node's entries alive and announces leaves for other nodes' expired entries. */
  presenceRefresh(entries: readonly { room: string; user: string }[]): Promise<void>;
  /** Announces a presence frame to the room on every node. */
  publishPresence(room: string, frame: string): Promise<void>;
  /** Per-node connection counts (this node only without Redis). */
  reportStats(stats: BackplaneStats): Promise<void>;
  nodeStats(): Promise<BackplaneStats[]>;
}

export function composeFrame(draft: RoomDraft, epoch: string, offset: number): string {
  return `${draft.head}${epoch}","offset":${offset}${draft.tail}`;
}
