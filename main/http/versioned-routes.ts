import type { FastifyInstance } from 'fastify';
import type { ApiVersion } from '../../contract/api-versions';
import { PhError } from '../../contract/errors';
import type { RouteHandler, VersionedRoute } from '../core';

export function registerVersionedRoutes(app: FastifyInstance, routes: readonly VersionedRoute[]): void {
  for (const route of routes) {
    const schema = { summary: route.summary, tags: [...(route.tags ?? ['rest'])] };
    for (const [version, handler] of Object.entries(route.versions) as [ApiVersion, RouteHandler][]) {
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
