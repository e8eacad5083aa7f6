import type { FastifyReply, FastifyRequest } from 'fastify';
import type { OperationName, OperationResult } from '../../contract/operations';
import type { Caller, VersionedRoute } from '../core';
import type { OperationDispatcher } from '../ops';

/**
 * REST routes for LAN programs, under /api/v1 and /api/v2. Each one hands its input to the
 * operation dispatcher, so validation, roles, error codes and the audit trail are the same as
 * for the console. v2 answers with the contract's shapes; v1 with the older flat ones (a bare
 * array for lists). Both carry the registry index in `X-Registry-Index`.
 *
 * - `GET /services?name=&tag=&state=&versionRange=` (add `index=N&waitMs=M` to long-poll)
 * - `POST /services` register · `DELETE /services/:id` · `PUT /services/:id/heartbeat`
 * - `GET /services/:id` · `PUT /services/:id/maintenance` `{enabled, reason}` · `GET /services/:name/pick?key=`
 */
export function discoveryRoutes(dispatcher: OperationDispatcher, registry?: { readonly closing: boolean }): VersionedRoute[] {
  const call = <N extends OperationName>(name: N, input: unknown, request: FastifyRequest): Promise<OperationResult<N>> =>
    dispatcher.call(name, input, request.caller as Caller) as Promise<OperationResult<N>>;
  const indexed = (reply: FastifyReply, index: number): void => void reply.header('x-registry-index', String(index));

  const list = async (
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<OperationResult<'services.list'> | OperationResult<'services.watch'>> => {
    const q = request.query as Record<string, string | undefined>;
    const filter: Record<string, unknown> = {};
    for (const key of ['name', 'tag', 'state', 'versionRange'] as const) if (q[key] !== undefined && q[key] !== '') filter[key] = q[key];
    const result =
      q.index === undefined
        ? await call('services.list', filter, request)
        : await call(
            'services.watch',
            { ...filter, index: toInt(q.index), ...(q.waitMs === undefined ? {} : { waitMs: toInt(q.waitMs) }) },
            request,
          );
    indexed(reply, result.index);
    // A long-poll ended by shutdown: do not leave its keep-alive connection holding the server open.
    if (registry?.closing === true) void reply.header('connection', 'close');
    return result;
  };
  const id = (request: FastifyRequest): string => (request.params as { id: string }).id;

  return [
    {
      method: 'GET',
      path: '/services',
      access: 'viewer',
      summary: 'Service instances by name, tag, health state and version range; long-polls with index and waitMs',
      tags: ['services'],
      versions: {
        v1: async (request, reply) => (await list(request, reply)).instances,
        v2: list,
      },
    },
    {
      method: 'POST',
      path: '/services',
      access: 'operator',
      summary: 'Register (or re-register) a service instance with its checks',
      tags: ['services'],
      versions: {
        v1: async (request, reply) => {
          const { instance } = await call('services.register', request.body, request);
          return reply.code(200).send(instance);
        },
        v2: async (request, reply) => reply.code(201).send(await call('services.register', request.body, request)),
      },
    },
    {
      method: 'GET',
      path: '/services/:id',
      access: 'viewer',
      summary: "One instance with every check's status, output and history",
      tags: ['services'],
      versions: {
        v1: async (request) => (await call('services.get', { id: id(request) }, request)).instance,
        v2: (request) => call('services.get', { id: id(request) }, request),
      },
    },
    {
      method: 'DELETE',
      path: '/services/:id',
      access: 'operator',
      summary: 'Deregister a service instance',
      tags: ['services'],
      versions: {
        v1: async (request, reply) => {
          await call('services.deregister', { id: id(request) }, request);
          return reply.code(204).send();
        },
        v2: (request) => call('services.deregister', { id: id(request) }, request),
      },
    },
    {
      method: 'PUT',
      path: '/services/:id/heartbeat',
      access: 'operator',
      summary: 'Heartbeat: feeds the TTL checks of an instance',
      tags: ['services'],
      versions: {
        v1: async (request, reply) => {
          await call('services.heartbeat', { id: id(request), ...bodyObject(request.body) }, request);
          return reply.code(204).send();
        },
        v2: (request) => call('services.heartbeat', { id: id(request), ...bodyObject(request.body) }, request),
      },
    },
    {
      method: 'PUT',
      path: '/services/:id/maintenance',
      access: 'operator',
      summary: 'Put an instance into maintenance or take it out: {"enabled": true, "reason": "..."}',
      tags: ['services'],
      versions: {
        v1: async (request) => (await call('services.maintenance', { id: id(request), ...bodyObject(request.body) }, request)).instance,
        v2: (request) => call('services.maintenance', { id: id(request), ...bodyObject(request.body) }, request),
      },
    },
    {
      method: 'GET',
      path: '/services/:id/pick',
      access: 'viewer',
      summary: 'Pick a passing instance of the service named in the path (key= for consistent hashing)',
      tags: ['services'],
      versions: {
        v1: async (request) => (await call('services.pick', pickInput(request), request)).instance,
        v2: (request) => call('services.pick', pickInput(request), request),
      },
    },
  ];
}

function pickInput(request: FastifyRequest): { name: string; key?: string } {
  const { id } = request.params as { id: string };
  const { key } = request.query as { key?: string };
  return key === undefined ? { name: id } : { name: id, key };
}

function bodyObject(body: unknown): Record<string, unknown> {
  return typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
}

/** Keeps a non-number as it is, so the dispatcher reports the field. */
function toInt(text: string): number | string {
  return /^\d+$/.test(text) ? Number(text) : text;
}
