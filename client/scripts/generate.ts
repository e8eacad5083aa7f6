import type { TSchema } from '@sinclair/typebox';
import { events } from '../../contract/events';
import { IntrospectionSchema, TokenResponseSchema } from '../../contract/oauth';
import { operations } from '../../contract/operations';
import * as frames from '../../contract/realtime-frames';
import { tsType } from './ts-type';

const HEADER = '// Generated from contract/ by client/scripts/generate.ts (npm run build); do not edit.\n';

/**
 * The client's view of the contract as plain TypeScript: every operation's input and result, every
 * event's payload, the OAuth answers. Written to client/src/generated/contract.ts (checked in, and
 * checked against the contract by test/client/generated.test.ts).
 */
export function contractTypes(): string {
  const ops = Object.entries(operations).map(
    ([name, def]) =>
      `  ${JSON.stringify(name)}: {\n    input: ${tsType(def.input, '    ')};\n    output: ${tsType(def.output, '    ')};\n    minRole: ${JSON.stringify(def.minRole)};\n    mutating: ${def.mutating};\n  };`,
  );
  const evs = Object.entries(events).map(([name, def]) => `  ${JSON.stringify(name)}: ${tsType(def.payload as TSchema, '  ')};`);
  return `${HEADER}
/** Every operation: \`POST /api/v2/ops/<name>\` with \`input\`, answering \`output\`. */
export interface OperationTypes {
${ops.join('\n')}
}
export type OperationName = keyof OperationTypes;
export type OperationInput<N extends OperationName> = OperationTypes[N]['input'];
export type OperationOutput<N extends OperationName> = OperationTypes[N]['output'];

export const operationNames: readonly OperationName[] = ${JSON.stringify(Object.keys(operations))};

/** Every event the hub delivers to \`followEvents\`, by name: its payload. */
export interface EventTypes {
${evs.join('\n')}
}
export type EventName = keyof EventTypes;

/** \`POST /oauth/token\`'s answer. */
export type TokenResponse = ${tsType(TokenResponseSchema)};
/** \`POST /oauth/introspect\`'s answer. */
export type Introspection = ${tsType(IntrospectionSchema)};
`;
}

/** Client frames the hub takes, and server frames it sends (contract/realtime-frames.ts). */
const CLIENT_FRAMES = ['Auth', 'Subscribe', 'Unsubscribe', 'Publish', 'Presence', 'History', 'Ack', 'Ping', 'Events'];
const SERVER_FRAMES = ['Welcome', 'Message', 'Gap', 'PresenceEvent', 'Reply', 'Error', 'Pong', 'Event', 'Reconnect'];

/**
 * The declaration file that stands in for contract/realtime-frames.ts in the published types: the
 * same names, as plain types (the hub client's declarations import them from there).
 */
export function framesDeclaration(): string {
  const schemas = frames as unknown as Record<string, TSchema>;
  const type = (name: string) => `export type ${name} = ${tsType(schemas[`${name}Schema`] as TSchema)};`;
  const closeCodes = Object.entries(frames.closeCodes)
    .map(([name, code]) => `  readonly ${name}: ${code};`)
    .join('\n');
  return `${HEADER}
${['Lane', 'Position', 'PresenceMember'].map(type).join('\n')}
${CLIENT_FRAMES.map((f) => type(`${f}Frame`)).join('\n')}
${SERVER_FRAMES.map((f) => type(`${f}Frame`)).join('\n')}
export type ClientFrame = ${CLIENT_FRAMES.map((f) => `${f}Frame`).join(' | ')};
export type ServerFrame = ${SERVER_FRAMES.map((f) => `${f}Frame`).join(' | ')};
export declare const lanes: readonly Lane[];
export declare const closeCodes: {
${closeCodes}
};
`;
}
