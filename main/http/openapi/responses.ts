import { errorCatalogue, type ErrorCode } from '../../../contract/errors';
import { anyOf, type JsonSchema } from './json-schema';

export interface HeaderRef {
  readonly $ref: string;
}
export interface HeaderObject {
  readonly description: string;
  readonly schema: JsonSchema;
}
export interface MediaObject {
  readonly schema: JsonSchema;
}
export interface ResponseObject {
  readonly description: string;
  readonly headers?: Readonly<Record<string, HeaderRef | HeaderObject>>;
  readonly content?: Readonly<Record<string, MediaObject>>;
}
/** Status (or `default`) → answer. */
export type Responses = Record<string, ResponseObject>;

export const headerRef = (name: string): HeaderRef => ({ $ref: `#/components/headers/${name}` });
export const schemaRef = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });

/** The catalogue's envelope, its code narrowed to the ones this answer can carry. */
function errorEnvelope(codes: readonly ErrorCode[]): JsonSchema {
  return {
    type: 'object',
    required: ['error'],
    additionalProperties: false,
    properties: {
      error: {
        type: 'object',
        required: ['code', 'message'],
        additionalProperties: false,
        properties: {
          code: { enum: codes },
          message: { type: 'string' },
          field: { type: 'string', description: 'The input field at fault' },
          details: { description: 'More about the failure, by code' },
        },
      },
    },
  };
}

/** Two answers with the same status: either body may come, and either's headers. */
function merge(a: ResponseObject, b: ResponseObject): ResponseObject {
  const content: Record<string, MediaObject> = { ...a.content };
  for (const [type, media] of Object.entries(b.content ?? {})) {
    const existing = content[type];
    content[type] = existing === undefined ? media : { schema: anyOf([existing.schema, media.schema]) };
  }
  const description = a.description === b.description ? a.description : `${a.description}; or ${b.description}`;
  const headers = { ...a.headers, ...b.headers };
  return {
    description,
    ...(Object.keys(headers).length === 0 ? {} : { headers }),
    ...(Object.keys(content).length === 0 ? {} : { content }),
  };
}

/** Adds `more` to `into`, merging answers that share a status. */
export function addResponses(into: Responses, more: Responses): Responses {
  for (const [status, response] of Object.entries(more)) {
    const existing = into[status];
    into[status] = existing === undefined ? response : merge(existing, response);
  }
  return into;
}

/** One answer per status the codes carry, each listing its codes and their catalogue messages. */
export function errorResponses(codes: readonly ErrorCode[], note = ''): Responses {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const status = errorCatalogue[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const responses: Responses = {};
  for (const [status, list] of byStatus) {
    const description = list.map((code) => `\`${code}\`: ${errorCatalogue[code].message}`).join('; ') + note;
    const headers = status === 429 ? { 'Retry-After': headerRef('Retry-After') } : undefined;
    responses[String(status)] = {
      description,
      ...(headers === undefined ? {} : { headers }),
      content: { 'application/json': { schema: errorEnvelope(list) } },
    };
  }
  return responses;
}

/** Adds headers to every answer (the rate-limit headers, the version header). */
export function withHeaders(responses: Responses, names: readonly string[]): Responses {
  if (names.length === 0) return responses;
  const added = Object.fromEntries(names.map((name) => [name, headerRef(name)]));
  return Object.fromEntries(
    Object.entries(responses).map(([status, response]) => [status, { ...response, headers: { ...response.headers, ...added } }]),
  );
}
