import type { ApiVersion } from '../../contract/api-versions';
import type { Role } from '../../contract/roles';
import type { Caller } from './caller';

/** What the HTTP layer adds to every request and route, visible to every folder that reads a request. */
declare module 'fastify' {
  interface FastifyRequest {
    caller: Caller | null;
    apiVersion: ApiVersion;
  }
  interface FastifyContextConfig {
    /** The least role a route needs, or `public`. Routes that say nothing need a viewer. */
    access?: Role | 'public';
  }
}
