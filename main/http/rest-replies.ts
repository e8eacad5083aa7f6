import { createReadStream } from 'node:fs';
import type { FastifyReply } from 'fastify';
import type { OperationResult } from '../../contract/operations';
import type { RestReply } from '../../contract/routes';
import { takeFile } from '../core';

type Health = OperationResult<'monitoring.health'>;
type Status = OperationResult<'system.status'>;
type ExportedFile = OperationResult<'monitoring.usage.export'>;

/** The worst state that matters: a critical dependency down is down; anything else not ok is degraded. */
function overall(dependencies: Health['dependencies']): 'ok' | 'degraded' | 'down' {
  let degraded = false;
  for (const d of dependencies) {
    if (d.status === 'down' && d.critical) return 'down';
    if (d.status === 'down' || d.status === 'degraded') degraded = true;
  }
  return degraded ? 'degraded' : 'ok';
}

/** Answers with an operation's result the way the route's version says (see `RestReply` in contract/routes.ts). */
export function sendReply(reply: FastifyReply, how: RestReply, result: unknown): unknown {
  switch (how.kind) {
    case 'json': {
      const fields = result as Record<string, unknown>;
      for (const [header, field] of Object.entries(how.headers ?? {})) void reply.header(header, String(fields[field]));
      return reply.code(how.status ?? 200).send(how.unwrap === undefined ? result : fields[how.unwrap]);
    }
    case 'empty':
      return reply.code(204).send();
    case 'file': {
      const file = result as ExportedFile;
      return reply.type(file.contentType).header('content-disposition', `attachment; filename="${file.filename}"`).send(file.content);
    }
    case 'download': {
      const file = takeFile(result);
      if (file === undefined) throw new Error('The operation prepared no file to download');
      const stream = createReadStream(file.path);
      stream.on('close', file.done);
      return reply
        .header('content-type', file.contentType)
        .header('content-disposition', `attachment; filename="${file.fileName}"`)
        .send(stream);
    }
    case 'health': {
      const { dependencies } = result as Health;
      const status = overall(dependencies);
      return reply.code(status === 'down' ? 503 : 200).send({ status, dependencies });
    }
    case 'status-v1': {
      const s = result as Status;
      return reply.send({
        version: s.version,
        uptime: Math.round(s.uptimeSeconds),
        services: Object.fromEntries(s.services.map((x) => [x.name, x.state])),
      });
    }
  }
}
