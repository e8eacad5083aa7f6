import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ApiVersion } from '../../contract/api-versions';
import { PhError } from '../../contract/errors';
import { operations } from '../../contract/operations';
import { roleAllows, type Role } from '../../contract/roles';
import { replyOf, routeRef, type RestRoute } from '../../contract/routes';
import { downgradeAnswer, upgradeInput, versionsServing } from '../../contract/versions';
import type { Caller } from '../core';
import type { OperationDispatcher } from '../ops';
import { restInput } from './rest-input';
import { sendReply } from './rest-replies';

/** The rows that share one method and path (a plain route, or a list and its long-poll). */
export function groupByPath(routes: readonly RestRoute[]): RestRoute[][] {
  const groups = new Map<string, RestRoute[]>();
  for (const route of routes) {
    const key = `${route.method} ${route.path}`;
    groups.set(key, [...(groups.get(key) ?? []), route]);
  }
  return [...groups.values()];
}

/** The least role of a group's operations, which the API document states for the route. */
export function leastRole(group: readonly RestRoute[]): Role {
  return group
    .map((route) => operations[route.operation].minRole)
    .reduce((least, role) => (roleAllows(least, role) && least !== role ? role : least));
}

/**
 * Mounts the contract's REST routes, the only ones the API has: each at `/api/<version><path>` for
 * each version it is served in, and once at `/api<path>`, where the version comes from the
 * `API-Version` header or `?api-version=` (else the caller's key's pinned version, else the latest).
 * Every one builds its operation's input as its row declares, brings it up from the request's version
 * and calls the dispatcher (so validation, roles, error codes and the audit trail are the console's),
 * then brings the latest answer down to the request's version: handlers speak only the latest.
 */
export function registerRestRoutes(app: FastifyInstance, routes: readonly RestRoute[], dispatcher: OperationDispatcher): void {
  for (const group of groupByPath(routes)) {
    const [first] = group as [RestRoute, ...RestRoute[]];
    // Any signed-in caller reaches the dispatcher, which refuses a role too low for the operation and puts the attempt on record.
    const config = { access: 'viewer' as const };
    const ref = routeRef(first);
    const served = versionsServing(ref);
    const answer = async (request: FastifyRequest, reply: FastifyReply, version: ApiVersion): Promise<unknown> => {
      const query = (request.query ?? {}) as Record<string, unknown>;
      const route =
        group.find((r) => r.whenQuery !== undefined && query[r.whenQuery] !== undefined) ?? group.find((r) => r.whenQuery === undefined);
      if (route === undefined || !served.includes(version)) {
        throw new PhError('PH_NOT_FOUND', `${first.method} /api${first.path} does not exist in ${version}`);
      }
      const input = upgradeInput(ref, version, restInput(route, request));
      const result = await dispatcher.call(route.operation, input, request.caller as Caller);
      return sendReply(reply, replyOf(route), result, (latest) => downgradeAnswer(ref, version, latest));
    };
    for (const version of served) {
      app.route({
        method: first.method,
        url: `/api/${version}${first.path}`,
        config,
        handler: (request, reply) => answer(request, reply, version),
      });
    }
    app.route({
      method: first.method,
      url: `/api${first.path}`,
      config,
      handler: (request, reply) => answer(request, reply, request.apiVersion),
    });
  }
}
