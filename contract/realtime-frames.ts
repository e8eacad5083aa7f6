import { Type, type Static } from '@sinclair/typebox';

/**
 * The wire protocol of the real-time hub at `/ws`: JSON text frames, one object each, with a `type`.
 * Declared once here, as schemas the hub checks inbound frames with and types derived from them
 * for the server and the client (which runs in Node and in browsers). docs/realtime-protocol.md
 * describes each frame.
 */

export const LaneSchema = Type.Union([Type.Literal('high'), Type.Literal('normal'), Type.Literal('low')]);
export type Lane = Static<typeof LaneSchema>;
export const lanes: readonly Lane[] = ['high', 'normal', 'low'];

/** Where a room's stream stands: `epoch` changes when its history was lost; `offset` counts from 1. */
export const PositionSchema = Type.Object({ epoch: Type.String({ maxLength: 64 }), offset: Type.Integer({ minimum: 0 }) });
export type Position = Static<typeof PositionSchema>;

const Id = Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Number()]));
const Room = Type.String({ minLength: 1, maxLength: 128 });
const Meta = Type.Record(Type.String(), Type.Unknown());

// ---- client → server ----------------------------------------------------------------------------

export const AuthFrameSchema = Type.Object({ type: Type.Literal('auth'), token: Type.String({ minLength: 1, maxLength: 4096 }) });
export const SubscribeFrameSchema = Type.Object({
  type: Type.Literal('subscribe'),
  id: Id,
  room: Room,
  since: Type.Optional(
    Type.Object(PositionSchema.properties, {
      description: 'Resume after this position: missed messages are replayed, or a `gap` frame says what was lost',
    }),
  ),
  presence: Type.Optional(
    Type.Record(Type.String(), Type.Unknown(), {
      description:
        'Presence metadata for this user in the room, at most 1 KiB as JSON (the first connection of the user sets it; see docs/realtime-protocol.md)',
    }),
  ),
});
export const UnsubscribeFrameSchema = Type.Object({ type: Type.Literal('unsubscribe'), id: Id, room: Room });
/** Exactly one target: a room, a user (all their connections, any node), or everyone (`all`). */
export const PublishFrameSchema = Type.Object({
  type: Type.Literal('publish'),
  id: Id,
  room: Type.Optional(Room),
  user: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  all: Type.Optional(Type.Boolean()),
  data: Type.Unknown(),
  lane: Type.Optional(Type.Union(LaneSchema.anyOf, { description: "Default: the room's lane (normal unless its policy says otherwise)" })),
  ack: Type.Optional(
    Type.Boolean({ description: 'Retry delivery to each connected subscriber until it acks, or the ack deadline passes' }),
  ),
  key: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 200,
      description: 'Low lane only: a queued message with the same key is replaced by this one (latest value wins)',
    }),
  ),
});
export const PresenceFrameSchema = Type.Object({ type: Type.Literal('presence'), id: Id, room: Room });
export const HistoryFrameSchema = Type.Object({
  type: Type.Literal('history'),
  id: Id,
  room: Room,
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'The last `limit` messages (default 100)' })),
});
export const AckFrameSchema = Type.Object({
  type: Type.Literal('ack'),
  mid: Type.String({ minLength: 1, maxLength: 200, description: 'The `mid` of the message being acknowledged' }),
});
export const PingFrameSchema = Type.Object({ type: Type.Literal('ping'), id: Id });
/**
 * Follow the console's events (`{"type":"event",...}` frames): every event the caller's role may see
 * when `events` is absent, only the named ones, or none with `events: []`. A connection gets none
 * until it asks: a LAN program that only uses rooms is not sent the console's chatter.
 */
export const EventsFrameSchema = Type.Object({
  type: Type.Literal('events'),
  id: Id,
  events: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 64 })),
});

/** Every frame a client may send, by type: the hub checks each inbound frame against its schema. */
export const clientFrameSchemas = {
  auth: AuthFrameSchema,
  subscribe: SubscribeFrameSchema,
  unsubscribe: UnsubscribeFrameSchema,
  publish: PublishFrameSchema,
  presence: PresenceFrameSchema,
  history: HistoryFrameSchema,
  ack: AckFrameSchema,
  ping: PingFrameSchema,
  events: EventsFrameSchema,
} as const;

export type AuthFrame = Static<typeof AuthFrameSchema>;
export type SubscribeFrame = Static<typeof SubscribeFrameSchema>;
export type UnsubscribeFrame = Static<typeof UnsubscribeFrameSchema>;
export type PublishFrame = Static<typeof PublishFrameSchema>;
export type PresenceFrame = Static<typeof PresenceFrameSchema>;
export type HistoryFrame = Static<typeof HistoryFrameSchema>;
export type AckFrame = Static<typeof AckFrameSchema>;
export type PingFrame = Static<typeof PingFrameSchema>;
export type EventsFrame = Static<typeof EventsFrameSchema>;
export type ClientFrame = {
  [K in keyof typeof clientFrameSchemas]: Static<(typeof clientFrameSchemas)[K]>;
}[keyof typeof clientFrameSchemas];

// ---- server → client ----------------------------------------------------------------------------

const Role = Type.Union([Type.Literal('viewer'), Type.Literal('operator'), Type.Literal('admin')]);

export const WelcomeFrameSchema = Type.Object({
  type: Type.Literal('welcome'),
  role: Role,
  session: Type.String(),
  user: Type.String(),
  node: Type.String(),
  pingIntervalMs: Type.Number(),
});
export const MessageFrameSchema = Type.Object({
  type: Type.Literal('message'),
  mid: Type.String({ description: 'Unique id of this publication; acknowledge it with `{type:"ack", mid}` when `ack` is true' }),
  room: Type.Optional(
    Type.String({ description: 'Set for room messages (with `epoch` and `offset`); absent for user and broadcast messages' }),
  ),
  epoch: Type.Optional(Type.String()),
  offset: Type.Optional(Type.Integer()),
  lane: LaneSchema,
  from: Type.String(),
  at: Type.Number(),
  ack: Type.Optional(Type.Boolean()),
  key: Type.Optional(Type.String()),
  data: Type.Unknown(),
});
export const GapFrameSchema = Type.Object({
  type: Type.Literal('gap'),
  room: Type.String(),
  epoch: Type.String({
    description:
      'Messages from..to (inclusive) of `epoch` will never arrive; `to` null = the rest of that epoch. For `rewound`: the offsets from..to the client was given are void and will be given to new messages',
  }),
  from: Type.Integer(),
  to: Type.Union([Type.Integer(), Type.Null()]),
  reason: Type.Union([Type.Literal('history-trimmed'), Type.Literal('epoch-changed'), Type.Literal('dropped'), Type.Literal('rewound')]),
  position: Type.Object(PositionSchema.properties, {
    description: 'Where the client stands after the gap: continue from here, even when it is behind the position the client held',
  }),
});
export const PresenceMemberSchema = Type.Object({ user: Type.String(), meta: Meta });
export const PresenceEventFrameSchema = Type.Object({
  type: Type.Literal('presence'),
  room: Type.String(),
  action: Type.Union([Type.Literal('join'), Type.Literal('leave'), Type.Literal('update')], {
    description: '`update`: the member stays, and the metadata a presence list shows for them is now `meta`',
  }),
  user: Type.String(),
  meta: Type.Optional(Meta),
});
export const ReplyFrameSchema = Type.Object({
  type: Type.Literal('reply'),
  id: Type.Union([Type.String(), Type.Number(), Type.Null()]),
  result: Type.Unknown({
    description:
      'subscribe: { room, position, replayed, members, membersTotal } (position is never null: an empty room gives where its first message will follow; members lists at most 200 of membersTotal); publish: { mid, position? }; presence: { room, members, membersTotal }; history: { messages, position }',
  }),
});
export const ErrorFrameSchema = Type.Object({
  type: Type.Literal('error'),
  id: Type.Optional(Type.Union([Type.String(), Type.Number(), Type.Null()])),
  error: Type.Object({
    code: Type.String(),
    message: Type.String(),
    field: Type.Optional(Type.String()),
    details: Type.Optional(Type.Unknown()),
  }),
});
export const PongFrameSchema = Type.Object({ type: Type.Literal('pong'), id: Type.Union([Type.String(), Type.Number(), Type.Null()]) });
/** A console event from the node's event bus (status, audit, progress), filtered by role. */
export const EventFrameSchema = Type.Object({ type: Type.Literal('event'), event: Type.String(), payload: Type.Unknown() });
/** The server is going away (drain): reconnect, here later or to another node, and resume. */
export const ReconnectFrameSchema = Type.Object({ type: Type.Literal('reconnect'), reason: Type.String() });

export type WelcomeFrame = Static<typeof WelcomeFrameSchema>;
export type MessageFrame = Static<typeof MessageFrameSchema>;
export type GapFrame = Static<typeof GapFrameSchema>;
export type PresenceMember = Static<typeof PresenceMemberSchema>;
export type PresenceEventFrame = Static<typeof PresenceEventFrameSchema>;
export type ReplyFrame = Static<typeof ReplyFrameSchema>;
export type ErrorFrame = Static<typeof ErrorFrameSchema>;
export type PongFrame = Static<typeof PongFrameSchema>;
export type EventFrame = Static<typeof EventFrameSchema>;
export type ReconnectFrame = Static<typeof ReconnectFrameSchema>;
export type ServerFrame =
  WelcomeFrame | MessageFrame | GapFrame | PresenceEventFrame | ReplyFrame | ErrorFrame | PongFrame | EventFrame | ReconnectFrame;

/** WebSocket close codes the hub uses. */
export const closeCodes = {
  /** Service restart: reconnect (any node) and resume. */
  restart: 1012,
  /** Policy: unauthenticated (a bad, revoked or ended credential): do not retry with the same one. */
  policy: 1008,
  /** The outgoing buffer overflowed with messages that may not be dropped: reconnect and resume from your position. */
  overflow: 4001,
  /** Missed two heartbeats. */
  heartbeat: 4002,
  /** Try again later, with backoff: the credential could not be checked just now, or its key holds all the connections it may. */
  tryAgain: 1013,
} as const;
