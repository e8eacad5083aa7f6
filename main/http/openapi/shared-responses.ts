import { createHash } from 'node:crypto';
import type { Paths } from './operation-object';
import type { ResponseObject } from './responses';

/**
 * Moves every error answer into `components.responses`, each distinct one once, and points the
 * operations at it: hundreds of operations share a few dozen error answers, and the document would
 * otherwise repeat each one per operation (megabytes instead of kilobytes).
 */
export function shareErrorResponses(paths: Paths): { paths: Paths; responses: Record<string, ResponseObject> } {
  const shared: Record<string, ResponseObject> = {};
  const shareOne = (status: string, response: ResponseObject | { $ref: string }): ResponseObject | { $ref: string } => {
    if ('$ref' in response || !/^[45]\d\d$/.test(status) || response.content?.['application/json'] === undefined) return response;
    const text = JSON.stringify(response);
    const name = `error-${status}-${createHash('sha256').update(text).digest('hex').slice(0, 10)}`;
    shared[name] = response;
    return { $ref: `#/components/responses/${name}` };
  };
  const out: Paths = {};
  for (const [path, item] of Object.entries(paths)) {
    out[path] = Object.fromEntries(
      Object.entries(item).map(([method, op]) => [
        method,
        { ...op, responses: Object.fromEntries(Object.entries(op.responses).map(([status, r]) => [status, shareOne(status, r)])) },
      ]),
    );
  }
  return { paths: out, responses: shared };
}
