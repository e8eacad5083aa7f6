import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PhError } from '../../contract/errors';
import type { Role } from '../../contract/roles';
import type { ApiVersion } from './api-versions';

type Handler = (request: FastifyRequest, reply: FastifyReply) => unknown;

/**
 * A REST route served in one or more API versions. It is mounted at `/api/<version><path>` for each
 * version it has, and once at `/api<path>`, where the version comes from the `API-Version` header or
 * `?api-version=` (the latest when neither is given).
 */
export interface VersionedRoute {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly path: `/${string}`;
  readonly access: Role;
  readonly summary: string;
  readonly tags?: readonly string[];
  readonly versions: Partial<Record<ApiVersion, Handler>>;
}

export function registerVersionedRoutes(app: FastifyInstance, routes: readonly VersionedRoute[]): void {
  for (const route of routes) {
    const schema = { summary: route.summary, tags: [...(route.tags ?? ['rest'])] };
    for (const [version, handler] of Object.entries(route.versions) as [ApiVersion, Handler][]) {
      app.route({ method: route.method, url: `/api/${version}${route.path}`, config: { access: route.access }, schema, handler });
    }
    app.route({
      method: route.method,
      url: `/api${route.path}`,
      config: { access: route.access },
      schema: { ...schema, hide: true },
      handler: (request, reply) => {
        const handler = route.versions[request.apiVersion];
        if (handler === undefined) {
          throw new PhError('PH_NOT_FOUND', `${route.method} /api${route.path} does not exist in ${request.apiVersion}`);
        }
        return handler(request, reply);
      },
    });
  }
}
