import type { FastifyReply, FastifyRequest } from 'fastify';
import { PhError } from '../../contract/errors';
import type { Caller, VersionedRoute } from '../core';
import type { AuditLog } from '../security';
import type { TieredCache } from './tiered-cache';

interface Params {
  namespace: string;
  key: string;
}

/**
 * The REST API for LAN programs: `GET/PUT/DELETE /api/v1/cache/:namespace/:key` and
 * `POST /api/v1/cache/:namespace/invalidate` (also under v2). Operators read and write; a viewer
 * sees stats only (through `cache.stats`). Writes are audited like console operations.
 */
export function cacheRoutes(cache: TieredCache, audit: AuditLog): VersionedRoute[] {
  const actor = (request: FastifyRequest): string => (request.caller as Caller | null)?.actor ?? 'unknown';
  const get = async (request: FastifyRequest) => {
    const { namespace, key } = request.params as Params;
    const value = await cache.namespace(namespace).get(key);
    if (value === undefined) throw new PhError('PH_CACHE_MISS', `No fresh value for ${namespace}/${key}`);
    return { namespace, key, value };
  };
  const put = async (request: FastifyRequest, reply: FastifyReply) => {
    const { namespace, key } = request.params as Params;
    const body = request.body as { value?: unknown; ttl?: unknown; grace?: unknown; tags?: unknown } | undefined;
    if (body === undefined || body === null || typeof body !== 'object' || !('value' in body)) {
      throw new PhError('PH_INVALID_INPUT', 'Send {"value": ..., "ttl"?: ms, "grace"?: ms, "tags"?: [...]}', { field: 'value' });
    }
    const ttl = optionalNumber(body.ttl, 'ttl');
    const grace = optionalNumber(body.grace, 'grace');
    const tags = optionalTags(body.tags);
    try {
      await cache.namespace(namespace).set(key, body.value, {
        ...(ttl === undefined ? {} : { ttl }),
        ...(grace === undefined ? {} : { grace }),
        ...(tags === undefined ? {} : { tags }),
      });
      audit.append({ actor: actor(request), action: 'cache.put', target: `${namespace}/${key}`, outcome: 'ok' });
    } catch (err) {
      audit.append({
        actor: actor(request),
        action: 'cache.put',
        target: `${namespace}/${key}`,
        outcome: 'error',
        detail: err instanceof PhError ? err.code : 'PH_INTERNAL',
      });
      throw err;
    }
    return reply.code(204).send();
  };
  const del = async (request: FastifyRequest) => {
    const { namespace, key } = request.params as Params;
    const removed = await cache.namespace(namespace).delete([key]);
    audit.append({ actor: actor(request), action: 'cache.delete', target: `${namespace}/${key}`, outcome: 'ok' });
    return { removed };
  };
  const invalidate = async (request: FastifyRequest) => {
    const { namespace } = request.params as Params;
    const body = (request.body ?? {}) as { keys?: unknown; tags?: unknown };
    const keys = optionalStrings(body.keys, 'keys', 1000);
    const tags = optionalTags(body.tags);
    if ((keys?.length ?? 0) === 0 && (tags?.length ?? 0) === 0)
      throw new PhError('PH_INVALID_INPUT', 'Send {"keys": [...]} or {"tags": [...]}', { field: 'keys' });
    const removed = await cache.invalidate({ namespace, ...(keys === undefined ? {} : { keys }), ...(tags === undefined ? {} : { tags }) });
    audit.append({
      actor: actor(request),
      action: 'cache.invalidate',
      target: namespace,
      outcome: 'ok',
      detail: JSON.stringify({ keys: keys?.length ?? 0, tags }),
    });
    return { removed };
  };
  const tags = ['cache'];
  return [
    {
      method: 'GET',
      path: '/cache/:namespace/:key',
      access: 'operator',
      summary: 'Read a cached value (L1 → L2 → L3)',
      tags,
      versions: { v1: get, v2: get },
    },
    {
      method: 'PUT',
      path: '/cache/:namespace/:key',
      access: 'operator',
      summary: 'Write a value through every tier',
      tags,
      versions: { v1: put, v2: put },
    },
    {
      method: 'DELETE',
      path: '/cache/:namespace/:key',
      access: 'operator',
      summary: 'Drop a key on every node',
      tags,
      versions: { v1: del, v2: del },
    },
    {
      method: 'POST',
      path: '/cache/:namespace/invalidate',
      access: 'operator',
      summary: 'Drop keys or tagged entries on every node',
      tags,
      versions: { v1: invalidate, v2: invalidate },
    },
  ];
}

function optionalNumber(value: unknown, field: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
    throw new PhError('PH_INVALID_INPUT', `${field} must be a number of milliseconds`, { field });
  return value;
}

function optionalStrings(value: unknown, field: string, max: number): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length > max || !value.every((v) => typeof v === 'string' && v.length > 0 && v.length <= 512)) {
    throw new PhError('PH_INVALID_INPUT', `${field} must be a list of at most ${max} non-empty strings`, { field });
  }
  return value as string[];
}

function optionalTags(value: unknown): string[] | undefined {
  return optionalStrings(value, 'tags', 100);
}
