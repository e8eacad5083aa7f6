import type { Access } from '../../../contract/endpoints';
import type { JsonSchema } from './json-schema';
import type { ResponseObject } from './responses';

export interface ParameterObject {
  readonly name: string;
  readonly in: 'path' | 'query' | 'header';
  readonly required: boolean;
  readonly schema: JsonSchema;
  readonly description?: string;
  readonly style?: 'form' | 'simple';
  readonly explode?: boolean;
}

export interface OperationObject {
  readonly operationId: string;
  readonly summary: string;
  readonly description?: string;
  readonly tags: readonly string[];
  readonly deprecated?: boolean;
  readonly security?: readonly Record<string, readonly string[]>[];
  readonly parameters?: readonly ParameterObject[];
  readonly requestBody?: { readonly required: boolean; readonly content: Readonly<Record<string, { readonly schema: JsonSchema }>> };
  /** Status → answer, or a reference to one shared in `components.responses`. */
  readonly responses: Readonly<Record<string, ResponseObject | { readonly $ref: string }>>;
  /** The least role that may call it (`public`: no credential). */
  readonly 'x-min-role': Access;
  readonly 'x-operation'?: string;
  readonly 'x-websocket'?: boolean;
}

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete' | 'options';
export type PathItem = Partial<Record<HttpMethod, OperationObject>>;
export type Paths = Record<string, PathItem>;

/** Fastify's `/a/:id/*` as OpenAPI's `/a/{id}/{path}`. */
export function pathTemplate(path: string): string {
  return path.replaceAll(/:(\w+)/g, '{$1}').replace(/\/\*$/, '/{path}');
}

/** The names of a Fastify path's parameters, `*` as `path`. */
export function pathParameterNames(path: string): string[] {
  const names = [...path.matchAll(/:(\w+)/g)].map((m) => m[1] as string);
  return path.endsWith('/*') ? [...names, 'path'] : names;
}

/** Public endpoints need no credential; the others take the document's bearer scheme. */
export function securityFor(access: Access): Pick<OperationObject, 'security'> {
  return access === 'public' ? { security: [] } : {};
}

/** Adds an operation to a path, keeping what other methods of the path already hold. */
export function addOperation(paths: Paths, path: string, method: HttpMethod, operation: OperationObject): void {
  paths[path] = { ...paths[path], [method]: operation };
}
