import type { TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { PhError } from '../../contract/errors';
import { clientFrameSchemas, type ClientFrame } from '../../contract/realtime-frames';
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../ops';

/** Inbound frame shapes, checked at the boundary (compiled once). */
const checks = new Map<string, TypeCheck<TSchema>>(
  Object.entries(clientFrameSchemas).map(([type, schema]) => [type, TypeCompiler.Compile(schema)]),
);

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
  // The limit HTTP bodies have (a publish's data sits one level down, as in a realtime.publish body):
  // the validator and the serializers downstream are recursive.
  if (nestsDeeperThan(value)) throw new PhError('PH_JSON_TOO_DEEP', `The frame nests deeper than ${MAX_JSON_DEPTH} levels`);
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
