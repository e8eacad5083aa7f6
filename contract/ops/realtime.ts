import { Type } from '@sinclair/typebox';
import { defineOperation } from '../operation';

const LaneDepths = Type.Object({ high: Type.Integer(), normal: Type.Integer(), low: Type.Integer() });
const PositionSchema = Type.Object({ epoch: Type.String(), offset: Type.Integer() });

export const RealtimeStatsSchema = Type.Object({
  node: Type.String(),
  backplane: Type.Union([Type.Literal('local'), Type.Literal('redis')]),
  healthy: Type.Boolean(),
  connections: Type.Integer(),
  byUser: Type.Array(Type.Object({ user: Type.String(), connections: Type.Integer() })),
  byNode: Type.Array(Type.Object({ node: Type.String(), connections: Type.Integer(), at: Type.Integer() })),
  rooms: Type.Array(Type.Object({ room: Type.String(), members: Type.Integer(), users: Type.Integer(), messagesPerSecond: Type.Number() })),
  presence: Type.Integer({ description: "Users present across this node's rooms" }),
  slowClients: Type.Array(
    Type.Object({ session: Type.String(), user: Type.String(), heldBytes: Type.Integer(), queued: LaneDepths, dropped: Type.Integer() }),
  ),
  lanes: LaneDepths,
  rates: Type.Object({ publishedPerSecond: Type.Number(), deliveredPerSecond: Type.Number(), inboundPerSecond: Type.Number() }),
  totals: Type.Object({
    published: Type.Integer(),
    delivered: Type.Integer(),
    dropped: Type.Integer(),
    coalesced: Type.Integer(),
    retried: Type.Integer(),
    ackExpired: Type.Integer(),
    rateLimited: Type.Integer(),
    closedOverflow: Type.Integer(),
    closedHeartbeat: Type.Integer(),
  }),
});

export const RealtimeMessageSchema = Type.Object({
  mid: Type.String(),
  room: Type.String(),
  epoch: Type.String(),
  offset: Type.Integer(),
  lane: Type.String(),
  from: Type.String(),
  at: Type.Integer(),
  data: Type.Unknown(),
});

const RoomName = Type.String({
  minLength: 1,
  maxLength: 128,
  pattern: '^[A-Za-z0-9_.:@-]+$',
  description: "1-128 letters, digits, '_', '.', ':', '@' or '-'",
});

export const realtimeOperations = {
  'realtime.stats': defineOperation({
    summary: 'Connections (by user, by node), rooms with members and message rates, presence, slow clients, lane depths',
    input: Type.Object({}),
    output: RealtimeStatsSchema,
    minRole: 'viewer',
    mutating: false,
  }),
  'realtime.presence': defineOperation({
    summary: 'Who is present in a room (per user, across nodes), with their metadata',
    input: Type.Object({ room: RoomName }),
    output: Type.Object({
      room: Type.String(),
      members: Type.Array(Type.Object({ user: Type.String(), meta: Type.Record(Type.String(), Type.Unknown()) })),
    }),
    minRole: 'viewer',
    mutating: false,
  }),
  'realtime.history': defineOperation({
    summary: 'The latest messages of a room, oldest first (the live tail)',
    input: Type.Object({ room: RoomName, limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })) }),
    output: Type.Object({
      room: Type.String(),
      position: Type.Union([PositionSchema, Type.Null()]),
      messages: Type.Array(RealtimeMessageSchema),
    }),
    minRole: 'viewer',
    mutating: false,
  }),
  'realtime.publish': defineOperation({
    summary: 'Publish a message to a room as the operator',
    input: Type.Object({ room: RoomName, data: Type.Unknown() }),
    output: Type.Object({ mid: Type.String(), position: PositionSchema }),
    minRole: 'operator',
    mutating: true,
    audit: 'counted',
  }),
} as const;
