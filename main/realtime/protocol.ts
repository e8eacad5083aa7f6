import { Type, type TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { PhError } from '../../contract/errors';
import type { ClientFrame } from './client/frames';

const Id = Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Number()]));
const Room = Type.String({ minLength: 1, maxLength: 128 });
const LaneSchema = Type.Union([Type.Literal('high'), Type.Literal('normal'), Type.Literal('low')]);
const Meta = Type.Record(Type.String(), Type.Unknown());

/** Inbound frame shapes, checked at the boundary (compiled once). */
const schemas: Record<ClientFrame['type'], TSchema> = {
  auth: Type.Object({ type: Type.Literal('auth'), token: Type.String({ minLength: 1, maxLength: 4096 }) }),
  subscribe: Type.Object({
    type: Type.Literal('subscribe'),
    id: Id,
    room: Room,
    since: Type.Optional(Type.Object({ epoch: Type.String({ maxLength: 64 }), offset: Type.Integer({ minimum: 0 }) })),
    presence: Type.Optional(Meta),
  }),
  unsubscribe: Type.Object({ type: Type.Literal('unsubscribe'), id: Id, room: Room }),
  publish: Type.Object({
    type: Type.Literal('publish'),
    id: Id,
    room: Type.Optional(Room),
    user: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    all: Type.Optional(Type.Boolean()),
    data: Type.Unknown(),
    lane: Type.Optional(LaneSchema),
    ack: Type.Optional(Type.Boolean()),
    key: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  }),
  presence: Type.Object({ type: Type.Literal('presence'), id: Id, room: Room }),
  history: Type.Object({
    type: Type.Literal('history'),
    id: Id,
    room: Room,
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  }),
  ack: Type.Object({ type: Type.Literal('ack'), mid: Type.String({ minLength: 1, maxLength: 200 }) }),
  ping: Type.Object({ type: Type.Literal('ping'), id: Id }),
  events: Type.Object({
    type: Type.Literal('events'),
    id: Id,
    events: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 64 })),
  }),
};

const checks = new Map<string, TypeCheck<TSchema>>(Object.entries(schemas).map(([type, schema]) => [type, TypeCompiler.Compile(schema)]));

/** Parses one inbound text frame, or throws a coded error naming the field that is wrong. */
export function parseClientFrame(text: string): ClientFrame {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new PhError('PH_MALFORMED_BODY', 'The frame is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new PhError('PH_INVALID_INPUT', 'A frame is a JSON object with a type');
  const type = (value as { type?: unknown }).type;
  const check = typeof type === 'string' ? checks.get(type) : undefined;
  if (check === undefined) throw new PhError('PH_INVALID_INPUT', 'Unknown frame type', { field: 'type' });
  if (!check.Check(value)) {
    const first = check.Errors(value).First();
    const field = first?.path.replace(/^\//, '').replaceAll('/', '.') || 'frame';
    throw new PhError('PH_INVALID_INPUT', `Field "${field}": ${first?.message ?? 'invalid'}`, { field });
  }
  return value as ClientFrame;
}

/** The `id` of a frame, echoed in its reply or error, when it had one. */
export function frameId(text: string): string | number | null {
  const match = /"id"\s*:\s*("(?:[^"\\]|\\.){0,64}"|-?\d+(?:\.\d+)?)/.exec(text);
  if (match?.[1] === undefined) return null;
  try {
    return JSON.parse(match[1]) as string | number;
  } catch {
    return null;
  }
}
