import { apiVersions } from '../../../contract/api-versions';
import { serverEndpoints } from '../../../contract/endpoints';
import { errorCatalogue } from '../../../contract/errors';
import { restRoutes } from '../../../contract/routes';
import { deprecatedApiVersions } from '../api-versions';
import { endpointPaths } from './endpoint-paths';
import { operationPaths, operationSchemas } from './ops-paths';
import type { Paths } from './operation-object';
import { restPaths } from './rest-paths';
import type { ResponseObject } from './responses';
import { shareErrorResponses } from './shared-responses';

/** An OpenAPI 3.1 document: 3.1, because its schemas are JSON Schema 2020-12, which the contract's TypeBox schemas are. */
export interface OpenApiDocument {
  readonly openapi: '3.1.0';
  readonly info: { readonly title: string; readonly version: string; readonly description: string };
  readonly tags: readonly { readonly name: string }[];
  readonly security: readonly Record<string, readonly string[]>[];
  readonly paths: Paths;
  readonly components: {
    readonly securitySchemes: Record<string, unknown>;
    readonly headers: Record<string, unknown>;
    readonly responses: Record<string, ResponseObject>;
    readonly schemas: Record<string, unknown>;
  };
}

const headerText = (description: string, pattern?: string) => ({
  description,
  schema: pattern === undefined ? { type: 'string' } : { type: 'string', pattern },
});

function describeVersions(): string {
  const deprecated = Object.entries(deprecatedApiVersions)
    .map(([v, info]) => `${v} is deprecated (Deprecation ${info.deprecatedAt.toISOString()}, Sunset ${info.sunsetAt.toISOString()})`)
    .join('; ');
  return [
    `Versions: ${apiVersions.join(', ')}; ${deprecated}.`,
    'Send `Authorization: Bearer <API key or session token>`.',
    'Every failure is `{ "error": { "code": "PH_…", "message": "…" } }` with a code from the catalogue (components.schemas.ErrorCode).',
  ].join(' ');
}

/**
 * The whole API, generated: the route table (every version, and `/api` with the version negotiated),
 * every operation, the server's own endpoints, and for each the catalogue errors it can answer.
 * Nothing here lists a route by hand; a route that is mounted is described.
 */
export function apiDocument(version: string): OpenApiDocument {
  const all: Paths = { ...endpointPaths(serverEndpoints), ...restPaths(restRoutes), ...operationPaths() };
  const { paths, responses } = shareErrorResponses(all);
  const tags = [...new Set(Object.values(paths).flatMap((item) => Object.values(item).flatMap((op) => op.tags)))].sort();
  return {
    openapi: '3.1.0',
    info: { title: 'Pilothouse API', version, description: describeVersions() },
    tags: tags.map((name) => ({ name })),
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'An API key (ph_…), a session token or an OAuth access token' },
        clientSecretBasic: {
          type: 'http',
          scheme: 'basic',
          description: 'OAuth client authentication (client_secret_basic): the API key id as user, the secret after it as password',
        },
      },
      headers: {
        'API-Version': { description: 'The version that answered', schema: { enum: [...apiVersions] } },
        Deprecation: headerText('RFC 9745: when this version was deprecated, as @<unix seconds>', '^@\\d+$'),
        Sunset: headerText('RFC 8594: the HTTP date after which this version may stop answering'),
        Link: headerText('Where the deprecation is described (rel="deprecation")'),
        'RateLimit-Policy': headerText(
          "The caller's tier and its budget (draft-ietf-httpapi-ratelimit-headers); absent for an unlimited tier",
        ),
        RateLimit: headerText('What is left of the budget and when it resets'),
        'Retry-After': headerText('Seconds to wait before trying again', '^\\d+$'),
        'Content-Disposition': headerText('attachment; filename="…"'),
      },
      responses,
      schemas: {
        ...operationSchemas(),
        ErrorCode: {
          enum: Object.keys(errorCatalogue),
          description: Object.entries(errorCatalogue)
            .map(([code, def]) => `${code} (${def.status}): ${def.message}`)
            .join('\n'),
        },
      },
    },
  };
}
