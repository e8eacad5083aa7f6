import { createReadStream } from 'node:fs';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { VersionedRoute } from '../http/versioned-routes';
import type { OperationDispatcher } from '../ops/operation-dispatcher';
import type { Caller } from '../security/caller';
import type { BackupService } from './backup-service';

type Params = Record<string, string>;

/**
 * `/api/v1/backups/...`: REST over the same operations (so validation, roles and the audit trail are
 * the dispatcher's), plus the download of a snapshot as a plain `.sqlite` file.
 */
export function backupRoutes(backup: BackupService, dispatcher: () => OperationDispatcher): VersionedRoute[] {
  const op =
    (name: string, input: (request: FastifyRequest) => unknown) =>
    (request: FastifyRequest): Promise<unknown> =>
      dispatcher().call(name, input(request), request.caller as Caller);
  const params = (r: FastifyRequest): Params => r.params as Params;
  const body = (r: FastifyRequest): Record<string, unknown> => (r.body ?? {}) as Record<string, unknown>;
  const route = (
    method: VersionedRoute['method'],
    path: `/${string}`,
    access: VersionedRoute['access'],
    summary: string,
    handler: (r: FastifyRequest, reply: FastifyReply) => unknown,
  ): VersionedRoute => ({
    method,
    path,
    access,
    summary,
    tags: ['backups'],
    versions: { v1: handler, v2: handler },
  });
  return [
    route(
      'GET',
      '/backups/sources',
      'viewer',
      'Backup sources and repository totals',
      op('backup.sources.list', () => ({})),
    ),
    route('POST', '/backups/sources', 'admin', 'Register a SQLite file to back up', op('backup.sources.register', body)),
    route(
      'POST',
      '/backups/sources/:id/snapshots',
      'operator',
      'Take a snapshot now',
      op('backup.snapshot', (r) => ({ id: params(r).id })),
    ),
    route(
      'GET',
      '/backups/snapshots',
      'viewer',
      'Snapshots, newest first',
      op('backup.snapshots.list', (r) => {
        const q = r.query as Params;
        return { ...(q.sourceId ? { sourceId: q.sourceId } : {}), ...(q.limit ? { limit: Number(q.limit) } : {}) };
      }),
    ),
    route(
      'POST',
      '/backups/snapshots/:id/verify',
      'operator',
      'Verify a snapshot',
      op('backup.verify', (r) => ({ id: params(r).id })),
    ),
    route('POST', '/backups/restore', 'admin', 'Restore a snapshot to a new file or in place', op('backup.restore', body)),
    route(
      'POST',
      '/backups/prune',
      'operator',
      'Apply retention and remove unneeded pages',
      op('backup.prune', () => ({})),
    ),
    route(
      'GET',
      '/backups/snapshots/:id/download',
      'admin',
      'Download a snapshot as a plain .sqlite file (admin: it holds the whole database)',
      async (request, reply) => {
        const file = await backup.exportImage(params(request).id ?? '');
        const stream = createReadStream(file.path);
        stream.on('close', file.done);
        return reply
          .header('content-type', 'application/vnd.sqlite3')
          .header('content-disposition', `attachment; filename="${file.fileName}"`)
          .send(stream);
      },
    ),
  ];
}
