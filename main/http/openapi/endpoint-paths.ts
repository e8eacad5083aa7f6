import type { ServerEndpoint } from '../../../contract/endpoints';
import { errorCodesFor } from './error-codes';
import { toJsonSchema } from './json-schema';
import { addOperation, pathParameterNames, pathTemplate, securityFor, type HttpMethod, type Paths } from './operation-object';
import { addResponses, errorResponses, withHeaders, type Responses } from './responses';
import { API_HEADERS } from './rest-paths';

const RATE_LIMIT_HEADERS = ['RateLimit-Policy', 'RateLimit'] as const;

/** The server's own endpoints (health, metrics, sessions, gateway, socket, console), from the contract's table. */
export function endpointPaths(endpoints: readonly ServerEndpoint[]): Paths {
  const paths: Paths = {};
  for (const endpoint of endpoints) {
    const apiPath = endpoint.path.startsWith('/api/');
    const responses: Responses = {};
    for (const [status, answer] of Object.entries(endpoint.responses)) {
      const content = Object.fromEntries(
        Object.entries(answer.content ?? {}).map(([type, schema]) => [type, { schema: toJsonSchema(schema) }]),
      );
      responses[status] = { description: answer.description, ...(Object.keys(content).length === 0 ? {} : { content }) };
    }
    const note = endpoint.passThrough === true ? "; or the upstream's own answer with this status" : '';
    const codes = errorCodesFor({
      access: endpoint.access,
      apiPath,
      readsBody: endpoint.body !== undefined,
      ...(endpoint.errors === undefined ? {} : { extra: endpoint.errors }),
    });
    addResponses(responses, errorResponses(codes, note));
    if (endpoint.passThrough === true) {
      responses.default = { description: "The upstream's answer, whatever its status and type", content: { '*/*': { schema: {} } } };
    }
    const parameters = pathParameterNames(endpoint.path).map((name) => ({
      name,
      in: 'path' as const,
      required: true,
      schema: { type: 'string' },
      ...(name === 'path' ? { description: 'The rest of the path, slashes included' } : {}),
    }));
    for (const method of endpoint.methods) {
      const verb = method.toLowerCase() as HttpMethod;
      addOperation(paths, pathTemplate(endpoint.path), verb, {
        operationId: `${method} ${endpoint.path}`,
        summary: endpoint.summary,
        ...(endpoint.description === undefined ? {} : { description: endpoint.description }),
        tags: [endpoint.tag],
        ...(endpoint.basicAuth === true ? { security: [{ clientSecretBasic: [] }] } : securityFor(endpoint.access)),
        ...(parameters.length === 0 ? {} : { parameters }),
        ...(endpoint.body === 'json' && method !== 'GET'
          ? { requestBody: { required: false, content: { 'application/json': { schema: {} } } } }
          : endpoint.body === 'form'
            ? { requestBody: { required: true, content: { 'application/x-www-form-urlencoded': { schema: { type: 'object' } } } } }
            : endpoint.body === 'any' && method !== 'GET' && method !== 'OPTIONS'
              ? { requestBody: { required: false, content: { '*/*': { schema: {} } } } }
              : {}),
        responses: withHeaders(responses, apiPath ? API_HEADERS : RATE_LIMIT_HEADERS),
        'x-min-role': endpoint.access,
        ...(endpoint.upgrade === true ? { 'x-websocket': true } : {}),
      });
    }
  }
  return paths;
}
