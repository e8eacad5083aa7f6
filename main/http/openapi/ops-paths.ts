import { operationNames, operations } from '../../../contract/operations';
import { errorCodesFor } from './error-codes';
import { toJsonSchema, type JsonSchema } from './json-schema';
import type { Paths } from './operation-object';
import { addResponses, errorResponses, schemaRef, withHeaders, type Responses } from './responses';
import { API_HEADERS } from './rest-paths';

/** `POST /api/v2/ops/<name>` for every operation: its input as the body (empty means `{}`), its result as the answer. */
export function operationPaths(): Paths {
  const paths: Paths = {};
  for (const name of operationNames) {
    const def = operations[name];
    const responses: Responses = {
      '200': { description: 'The result', content: { 'application/json': { schema: toJsonSchema(def.output) } } },
    };
    addResponses(responses, errorResponses(errorCodesFor({ access: def.minRole, apiPath: true, readsBody: true, operations: [name] })));
    paths[`/api/v2/ops/${name}`] = {
      post: {
        operationId: `ops:${name}`,
        summary: def.summary,
        description: `Least role: ${def.minRole}.${def.mutating ? ' Written to the audit log with its outcome.' : ''}`,
        tags: ['operations'],
        requestBody: { required: false, content: { 'application/json': { schema: schemaRef(`${name}.input`) } } },
        responses: withHeaders(responses, API_HEADERS),
        'x-min-role': def.minRole,
        'x-operation': name,
      },
    };
  }
  return paths;
}

/** Each operation's input and result schema, once, as `<name>.input` and `<name>.output`: the REST routes refer to them too. */
export function operationSchemas(): Record<string, JsonSchema> {
  return Object.fromEntries(
    operationNames.flatMap((name) => [
      [`${name}.input`, toJsonSchema(operations[name].input)],
      [`${name}.output`, toJsonSchema(operations[name].output)],
    ]),
  );
}
