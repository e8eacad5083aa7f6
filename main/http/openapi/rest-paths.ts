import { apiVersions, type ApiVersion } from '../../../contract/api-versions';
import { operations } from '../../../contract/operations';
import { replyOf, routeRef, type QueryKind, type RestReply, type RestRoute } from '../../../contract/routes';
import { changesRoute, downgradeDocumented, downgradeRequestSchema, versionsServing } from '../../../contract/versions';
import { deprecatedApiVersions } from '../api-versions';
import { groupByPath, leastRole } from '../rest-routes';
import { errorCodesFor } from './error-codes';
import { anyOf, fieldSchema, isRequired, toJsonSchema, withoutFields, type JsonSchema } from './json-schema';
import {
  addOperation,
  pathParameterNames,
  pathTemplate,
  type HttpMethod,
  type OperationObject,
  type ParameterObject,
  type Paths,
} from './operation-object';
import { addResponses, errorResponses, headerRef, schemaRef, withHeaders, type HeaderObject, type Responses } from './responses';

/** The headers every answer under `/api/` carries; a deprecated version's answers also the deprecation headers. */
export const API_HEADERS = ['RateLimit-Policy', 'RateLimit', 'API-Version'] as const;
export const DEPRECATION_HEADERS = ['Deprecation', 'Sunset', 'Link'] as const;

const inputOf = (route: RestRoute): JsonSchema => toJsonSchema(operations[route.operation].input);
const outputOf = (route: RestRoute): JsonSchema => toJsonSchema(operations[route.operation].output);

function json(schema: JsonSchema): { 'application/json': { schema: JsonSchema } } {
  return { 'application/json': { schema } };
}

/** What a route answers on success in the latest version, as its reply kind says (see `sendReply`). */
function latestResponses(route: RestRoute, how: RestReply): Responses {
  const output = outputOf(route);
  const attachment = { 'Content-Disposition': headerRef('Content-Disposition') };
  switch (how.kind) {
    case 'json': {
      const schema = how.unwrap === undefined ? schemaRef(`${route.operation}.output`) : fieldSchema(output, how.unwrap);
      return { [String(how.status ?? 200)]: { description: route.summary, headers: replyHeaders(route, how), content: json(schema) } };
    }
    case 'empty':
      return { '204': { description: `${route.summary}: done, no body` } };
    case 'file':
      return {
        '200': {
          description: `${route.summary}: a file to save`,
          headers: attachment,
          content: Object.fromEntries(Object.entries(how.media).map(([type, schema]) => [type, { schema: toJsonSchema(schema) }])),
        },
      };
    case 'download':
      return {
        '200': {
          description: `${route.summary}: the file, streamed`,
          headers: attachment,
          content: { [how.contentType]: { schema: { type: 'string', contentMediaType: how.contentType } } },
        },
      };
    case 'health': {
      const dependencies = fieldSchema(output, 'dependencies');
      const body = (status: JsonSchema): JsonSchema => ({
        type: 'object',
        required: ['status', 'dependencies'],
        properties: { status, dependencies },
      });
      return {
        '200': { description: 'Every critical dependency is up', content: json(body({ enum: ['ok', 'degraded'] })) },
        '503': { description: 'A critical dependency is down', content: json(body({ const: 'down' })) },
      };
    }
  }
}

/** The headers a JSON reply takes from result fields (`X-Registry-Index`; a boolean as `X-Cache-Stale: 1`, sent only when true). */
function replyHeaders(route: RestRoute, how: RestReply & { kind: 'json' }): Record<string, HeaderObject> {
  const output = outputOf(route);
  return Object.fromEntries(
    Object.entries(how.headers ?? {}).map(([name, field]) => {
      const schema = fieldSchema(output, field);
      return [
        name,
        schema.type === 'boolean'
          ? { schema: { type: 'string', enum: ['1'] }, description: `\`1\` when the result's \`${field}\` is true; absent otherwise` }
          : { schema, description: `The result's \`${field}\`` },
      ];
    }),
  );
}

/**
 * What a route answers on success in one version: the latest answer, brought down by the version
 * changes the same way the server brings down what it sends (contract/versions/).
 */
function successResponses(route: RestRoute, version: ApiVersion): Responses {
  const how = replyOf(route);
  const ref = routeRef(route);
  if (!changesRoute(ref, version).response) return latestResponses(route, how);
  if (how.kind !== 'json' && how.kind !== 'empty') throw new Error(`${ref}: a version change can rewrite only JSON and empty answers`);
  const output = outputOf(route);
  const latest =
    how.kind === 'empty'
      ? { status: 204, schema: null }
      : { status: how.status ?? 200, schema: how.unwrap === undefined ? output : fieldSchema(output, how.unwrap) };
  const older = downgradeDocumented(ref, version, latest);
  const headers = how.kind === 'json' ? replyHeaders(route, how) : {};
  return {
    [String(older.status)]:
      older.schema === null
        ? { description: `${route.summary}: done, no body`, ...(Object.keys(headers).length === 0 ? {} : { headers }) }
        : { description: `${route.summary} (as ${version} answers)`, headers, content: json(older.schema) },
  };
}

function queryParameterSchema(input: JsonSchema, field: string, kind: QueryKind): JsonSchema {
  switch (kind) {
    case 'flag':
      return { type: 'boolean', description: '`true` turns it on; anything else leaves it off' };
    case 'list':
      return { type: 'array', items: (fieldSchema(input, field).items as JsonSchema | undefined) ?? { type: 'string' } };
    case 'string':
    case 'integer':
      return fieldSchema(input, field);
  }
}

/** The path and query parameters of a group of rows (a list and its long-poll share a path). */
function parameters(group: readonly RestRoute[]): ParameterObject[] {
  const [first] = group as [RestRoute];
  const input = inputOf(first);
  const path = pathParameterNames(first.path).map((name): ParameterObject => {
    const field = first.input?.params?.[name] ?? name;
    // A path shared with other routes keeps their parameter's name (`/services/:id/pick` takes a name).
    const named =
      field === name ? {} : { description: `The operation's \`${field}\` (this path's segment is named ${name} for the routes beside it)` };
    return { name, in: 'path', required: true, ...named, schema: fieldSchema(input, field) };
  });
  const query = new Map<string, ParameterObject>();
  for (const route of group) {
    const routeInput = inputOf(route);
    for (const [name, how] of Object.entries(route.input?.query ?? {})) {
      const [field, kind] = typeof how === 'string' ? [name, how] : how;
      const fallback = route.input?.defaults?.[field];
      const schema = queryParameterSchema(routeInput, field, kind);
      const described =
        route.whenQuery === name ? `Present: ${route.summary}` : typeof schema.description === 'string' ? schema.description : undefined;
      query.set(name, {
        name,
        in: 'query',
        required: fallback === undefined && group.every((r) => r.whenQuery === undefined) && isRequired(routeInput, field),
        schema: fallback === undefined ? schema : { ...schema, default: fallback },
        ...(described === undefined ? {} : { description: described }),
        ...(kind === 'list' ? { style: 'form', explode: false } : {}),
      });
    }
  }
  return [...path, ...query.values()];
}

/** The JSON body a row reads: its input without what the path and query supply, or one field of it. */
function requestBody(route: RestRoute, versions: readonly ApiVersion[]): OperationObject['requestBody'] {
  const spec = route.input?.body;
  if (spec === undefined) return undefined;
  const ref = routeRef(route);
  // An older version's body, as its changes describe it; a negotiated path takes any version's.
  const input = anyOf(versions.map((v) => downgradeRequestSchema(ref, v, inputOf(route))));
  if (spec === 'merge') {
    const elsewhere = [
      ...pathParameterNames(route.path).map((name) => route.input?.params?.[name] ?? name),
      ...Object.entries(route.input?.query ?? {}).map(([name, how]) => (typeof how === 'string' ? name : how[0])),
    ];
    const schema = withoutFields(input, elsewhere);
    return { required: Array.isArray(schema.required), content: json(schema) };
  }
  return { required: isRequired(input, spec.field), content: json(fieldSchema(input, spec.field)) };
}

function deprecationNote(version: ApiVersion): string {
  const info = deprecatedApiVersions[version];
  if (info === undefined) return '';
  return ` ${version} is deprecated since ${info.deprecatedAt.toISOString().slice(0, 10)} and ends on ${info.sunsetAt.toISOString().slice(0, 10)}.`;
}

/** One row group in the versions given: their answers merged, and the errors every such route can give. */
function operationObject(group: readonly RestRoute[], versions: readonly ApiVersion[], versioned: ApiVersion | null): OperationObject {
  const [first] = group as [RestRoute];
  const responses: Responses = {};
  for (const route of group) for (const v of versions) addResponses(responses, successResponses(route, v));
  const codes = errorCodesFor({
    access: leastRole(group),
    apiPath: true,
    readsBody: first.method !== 'GET',
    operations: group.map((r) => r.operation),
  });
  addResponses(responses, errorResponses(codes));
  const deprecated = versioned !== null && deprecatedApiVersions[versioned] !== undefined;
  const headers = [...API_HEADERS, ...(versioned === null || deprecated ? DEPRECATION_HEADERS : [])];
  const negotiation: ParameterObject[] =
    versioned === null
      ? [
          {
            name: 'API-Version',
            in: 'header',
            required: false,
            schema: { enum: [...apiVersions] },
            description: 'The version to answer in; the latest when absent',
          },
          {
            name: 'api-version',
            in: 'query',
            required: false,
            schema: { enum: [...apiVersions] },
            description: 'The version, when a header cannot be set',
          },
        ]
      : [];
  const body = requestBody(first, versions);
  return {
    operationId: `${versioned ?? 'negotiated'}:${first.method} ${first.path}`,
    summary: group.map((r) => r.summary).join('; '),
    description:
      (versioned === null
        ? 'The version comes from the API-Version header or ?api-version=, else the latest.'
        : `Served in ${versioned}.`) +
      (versioned === null ? '' : deprecationNote(versioned)) +
      ` Calls ${group.map((r) => `\`${r.operation}\``).join(' or ')}.`,
    tags: [first.tag],
    ...(deprecated ? { deprecated: true } : {}),
    parameters: [...parameters(group), ...negotiation],
    ...(body === undefined ? {} : { requestBody: body }),
    responses: withHeaders(responses, headers),
    'x-min-role': leastRole(group),
    'x-operation': group.map((r) => r.operation).join(' | '),
  };
}

/** Every row of the route table: under each version it is served in, and once under `/api` with the version negotiated. */
export function restPaths(routes: readonly RestRoute[]): Paths {
  const paths: Paths = {};
  for (const group of groupByPath(routes)) {
    const [first] = group as [RestRoute];
    const method = first.method.toLowerCase() as HttpMethod;
    const served = versionsServing(routeRef(first));
    for (const version of served)
      addOperation(paths, `/api/${version}${pathTemplate(first.path)}`, method, operationObject(group, [version], version));
    addOperation(paths, `/api${pathTemplate(first.path)}`, method, operationObject(group, served, null));
  }
  return paths;
}
