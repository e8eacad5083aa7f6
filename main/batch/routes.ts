import type { FastifyRequest } from 'fastify';
import type { Caller, VersionedRoute } from '../core';
import type { OperationDispatcher } from '../ops';

/**
 * `/api/v1/batches` and `/api/v1/jobs` (and v2): thin REST over the same operations, so input
 * limits, roles, errors and the audit trail are those of the console.
 */
export function batchRoutes(dispatcher: OperationDispatcher): VersionedRoute[] {
  const call = (name: string, input: unknown, request: FastifyRequest) => dispatcher.call(name, input, request.caller as Caller);
  const both = (handler: (request: FastifyRequest) => unknown) => ({ v1: handler, v2: handler });
  const params = (request: FastifyRequest) => request.params as Record<string, string>;
  return [
    {
      method: 'POST',
      path: '/batches',
      access: 'operator',
      summary: 'Submit a batch (JSON form); ?background=true runs it as a job',
      tags: ['batches'],
      versions: both((r) => {
        const background = (r.query as Record<string, string>).background === 'true';
        return call('batch.submit', background ? { batch: r.body, background } : { batch: r.body }, r);
      }),
    },
    {
      method: 'GET',
      path: '/batches/:id',
      access: 'viewer',
      summary: "A batch's report",
      tags: ['batches'],
      versions: both((r) => call('batch.status', { id: params(r).id }, r)),
    },
    {
      method: 'POST',
      path: '/jobs',
      access: 'operator',
      summary: 'Enqueue a job',
      tags: ['jobs'],
      versions: both((r) => call('jobs.enqueue', r.body, r)),
    },
    {
      method: 'GET',
      path: '/jobs',
      access: 'viewer',
      summary: 'List jobs (?state=&type=&parentId=&limit=&offset=)',
      tags: ['jobs'],
      versions: both((r) => {
        const q = r.query as Record<string, string>;
        const input: Record<string, unknown> = {};
        for (const key of ['state', 'type', 'parentId'] as const) if (q[key] !== undefined) input[key] = q[key];
        for (const key of ['limit', 'offset'] as const)
          if (q[key] !== undefined) input[key] = /^\d+$/.test(q[key]) ? Number(q[key]) : q[key];
        return call('jobs.list', input, r);
      }),
    },
    {
      method: 'GET',
      path: '/jobs/:id',
      access: 'viewer',
      summary: 'One job with its log and children',
      tags: ['jobs'],
      versions: both((r) => call('jobs.get', { id: params(r).id }, r)),
    },
    {
      method: 'POST',
      path: '/jobs/:id/cancel',
      access: 'operator',
      summary: 'Cancel a job',
      tags: ['jobs'],
      versions: both((r) => call('jobs.cancel', { id: params(r).id }, r)),
    },
    {
      method: 'POST',
      path: '/jobs/:id/retry',
      access: 'operator',
      summary: 'Retry a dead or cancelled job',
      tags: ['jobs'],
      versions: both((r) => call('jobs.retry', { id: params(r).id }, r)),
    },
    {
      method: 'DELETE',
      path: '/jobs/:id',
      access: 'operator',
      summary: 'Delete a job that is not running',
      tags: ['jobs'],
      versions: both((r) => call('jobs.delete', { id: params(r).id }, r)),
    },
  ];
}
