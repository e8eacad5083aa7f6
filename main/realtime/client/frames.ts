/**
 * The wire protocol of the real-time hub at `/ws`: JSON text frames, one object each, with a `type`.
 * Shared by the server and the client; it holds types only, so it runs anywhere (Node, browser).
 * docs/realtime-protocol.md describes each frame.
 */

export type Lane = 'high' | 'normal' | 'low';
export const lanes: readonly Lane[] = ['high', 'normal', 'low'];

/** Where a room's stream stands: `epoch` changes when its history was lost; `offset` counts from 1. */
export interface Position {
  epoch: string;
  offset: number;
}

// ---- client → server ----------------------------------------------------------------------------

export interface AuthFrame {
  type: 'auth';
  token: string;
}
export interface SubscribeFrame {
  type: 'subscribe';
  id?: string | number;
  room: string;
  /** Resume after this position: missed messages are replayed, or a `gap` frame says what was lost. */
  since?: Position;
  /** Presence metadata for this user in the room (the first connection of the user sets it). */
  presence?: Record<string, unknown>;
}
export interface UnsubscribeFrame {
  type: 'unsubscribe';
  id?: string | number;
  room: string;
}
export interface PublishFrame {
  type: 'publish';
  id?: string | number;
  /** Exactly one target: a room, a user (all their connections, any node), or everyone. */
  room?: string;
  user?: string;
  all?: boolean;
  data: unknown;
  /** Default: the room's lane (normal unless its policy says otherwise). */
  lane?: Lane;
  /** Retry delivery to each connected subscriber until it acks, or the ack deadline passes. */
  ack?: boolean;
  /** Low lane only: a queued message with the same key is replaced by this one (latest value wins). */
  key?: string;
}
export interface PresenceFrame {
  type: 'presence';
  id?: string | number;
  room: string;
}
export interface HistoryFrame {
  type: 'history';
  id?: string | number;
  room: string;
  /** The last `limit` messages (default 100). */
  limit?: number;
}
export interface AckFrame {
  type: 'ack';
  /** The `mid` of the message being acknowledged. */
  mid: string;
}
export interface PingFrame {
  type: 'ping';
  id?: string | number;
}
/**
 * Follow the console's events (`{"type":"event",...}` frames): every event the caller's role may see
 * when `events` is absent, only the named ones, or none with `events: []`. A connection gets none
 * until it asks: a LAN program that only uses rooms is not sent the console's chatter.
 */
export interface EventsFrame {
  type: 'events';
  id?: string | number;
  events?: string[];
}

export type ClientFrame =
  AuthFrame | SubscribeFrame | UnsubscribeFrame | PublishFrame | PresenceFrame | HistoryFrame | AckFrame | PingFrame | EventsFrame;

// ---- server → client ----------------------------------------------------------------------------

export interface WelcomeFrame {
  type: 'welcome';
  role: 'viewer' | 'operator' | 'admin';
  session: string;
  user: string;
  node: string;
  pingIntervalMs: number;
}
export interface MessageFrame {
  type: 'message';
  /** Unique id of this publication; acknowledge it with `{type:'ack', mid}` when `ack` is true. */
  mid: string;
  /** Set for room messages (with `epoch` and `offset`); absent for user and broadcast messages. */
  room?: string;
  epoch?: string;
  offset?: number;
  lane: Lane;
  from: string;
  at: number;
  ack?: boolean;
  key?: string;
  data: unknown;
}
export interface GapFrame {
  type: 'gap';
  room: string;
  /** Messages from..to (inclusive) of `epoch` will never arrive; `to` null = up to `position`. */
  epoch: string;
  from: number;
  to: number | null;
  reason: 'history-trimmed' | 'epoch-changed' | 'dropped';
  /** Where the room stands now: continue from here. */
  position: Position;
}
export interface PresenceMember {
  user: string;
  meta: Record<string, unknown>;
}
export interface PresenceEventFrame {
  type: 'presence';
  room: string;
  action: 'join' | 'leave';
  user: string;
  meta?: Record<string, unknown>;
}
export interface ReplyFrame {
  type: 'reply';
  id: string | number | null;
  /** subscribe: { position, replayed, members? }; publish: { mid, position? }; presence: { members }; history: { messages, position } */
  result: unknown;
}
export interface ErrorFrame {
  type: 'error';
  id?: string | number | null;
  error: { code: string; message: string; field?: string; details?: unknown };
}
export interface PongFrame {
  type: 'pong';
  id: string | number | null;
}
/** A console event from the node's event bus (status, audit, progress), filtered by role. */
export interface EventFrame {
  type: 'event';
  event: string;
  payload: unknown;
}
/** The server is going away (drain): reconnect, here later or to another node, and resume. */
export interface ReconnectFrame {
  type: 'reconnect';
  reason: string;
}

export type ServerFrame =
  WelcomeFrame | MessageFrame | GapFrame | PresenceEventFrame | ReplyFrame | ErrorFrame | PongFrame | EventFrame | ReconnectFrame;

/** WebSocket close codes the hub uses. */
export const closeCodes = {
  /** Service restart: reconnect (any node) and resume. */
  restart: 1012,
  /** Policy: unauthenticated, or too many bad frames. */
  policy: 1008,
  /** The outgoing buffer overflowed with messages that may not be dropped: reconnect and resume from your position. */
  overflow: 4001,
  /** Missed two heartbeats. */
  heartbeat: 4002,
  /** The server could not check the credential right now: retry. */
  tryAgain: 1013,
} as const;
