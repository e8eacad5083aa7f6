import { createReadStream } from 'node:fs';
import type { FastifyReply } from 'fastify';
import type { OperationResult } from '../../contract/operations';
import type { RestReply } from '../../contract/routes';
import type { VersionedAnswer } from '../../contract/versions';
import { takeFile } from '../core';

type Health = OperationResult<'monitoring.health'>;
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

/**
 * The latest version's answer to a JSON-ish reply kind (json, empty, health): its status, body and
 * headers, before the version's changes bring it down. Files and downloads are not rewritten.
 */
function latestAnswer(how: RestReply, result: unknown): { answer: VersionedAnswer; headers: Record<string, string> } | null {
  switch (how.kind) {
    case 'json': {
      const fields = result as Record<string, unknown>;
      const headers: Record<string, string> = {};
      for (const [header, field] of Object.entries(how.headers ?? {})) {
        const value = fields[field];
        if (value === undefined || value === false) continue;
        headers[header] = value === true ? '1' : String(value);
      }
      return { answer: { status: how.status ?? 200, body: how.unwrap === undefined ? result : fields[how.unwrap] }, headers };
    }
    case 'empty':
      return { answer: { status: 204, body: undefined }, headers: {} };
    case 'health': {
      const { dependencies } = result as Health;
      const status = overall(dependencies);
      return { answer: { status: status === 'down' ? 503 : 200, body: { status, dependencies } }, headers: {} };
    }
    case 'file':
    case 'download':
      return null;
  }
}

/**
 * Answers with an operation's result the way the route's latest reply says (see `RestReply` in
 * contract/routes.ts), brought down to the request's version by `down`.
 */
export function sendReply(
  reply: FastifyReply,
  how: RestReply,
  result: unknown,
  down: (latest: VersionedAnswer) => VersionedAnswer,
): unknown {
  const latest = latestAnswer(how, result);
  if (latest !== null) {
    const { status, body } = down(latest.answer);
    void reply.headers(latest.headers);
    return body === undefined ? reply.code(status).send() : reply.code(status).send(body);
  }
  if (how.kind === 'file') {
    const file = result as ExportedFile;
    return reply.type(file.contentType).header('content-disposition', `attachment; filename="${file.filename}"`).send(file.content);
  }
  const file = takeFile(result);
  if (file === undefined) throw new Error('The operation prepared no file to download');
  const stream = createReadStream(file.path);
  stream.on('close', file.done);
  return reply
    .header('content-type', file.contentType)
    .header('content-disposition', `attachment; filename="${file.fileName}"`)
    .send(stream);
}
