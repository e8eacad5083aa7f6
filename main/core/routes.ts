import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ApiVersion } from '../../contract/api-versions';
import type { Role } from '../../contract/roles';

import type { Caller } from './caller';

/** What the HTTP layer adds to every request and route, visible to every capability's route handlers. */
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

export type RouteHandler = (request: FastifyRequest, reply: FastifyReply) => unknown;

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
  readonly versions: Partial<Record<ApiVersion, RouteHandler>>;
}
