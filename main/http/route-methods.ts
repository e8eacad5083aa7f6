import type { FastifyInstance } from 'fastify';
import { PhError } from '../../contract/errors';

/**
 * The router's limit on one path parameter. Cache keys in REST paths may be up to 512 bytes, and
 * fastify's default of 100 would refuse them; a longer parameter matches no route at all.
 */
export const MAX_PARAM_LENGTH = 1024;

/** A path parameter past the router's limit, on any method (the path itself is not echoed). */
export function paramTooLong(): PhError {
  return new PhError('PH_INVALID_INPUT', `A path parameter is longer than ${MAX_PARAM_LENGTH} characters (decoded)`, { field: 'path' });
}

/**
 * Which methods each registered path answers, so a request for a path that exists with another
 * method gets 405 and an `Allow` header rather than 404. Collected from `onRoute`, so it knows
 * every route however it was registered; path parameters and wildcards match as the router does.
 */
export class RouteMethods {
  readonly #routes: { pattern: RegExp; anyLength: RegExp; method: string }[] = [];

  constructor(app: FastifyInstance) {
    app.addHook('onRoute', (route) => {
      const url = route.url ?? route.path;
      // The console's catch-all (`/*`, static files) would make every path "exist"; it is not an API route.
      if (url === '/*') return;
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      const pattern = toPattern(url, MAX_PARAM_LENGTH);
      const anyLength = toPattern(url, null);
      for (const method of methods) this.#routes.push({ pattern, anyLength, method: method.toUpperCase() });
    });
  }

  /**
   * Whether `path` names a route but for a parameter longer than the router takes. The router then
   * finds no route: a method with a catch-all (GET, the console's files) came to "not found", which
   * echoed the whole path, while PUT was refused as too long. Both are now refused alike.
   */
  paramTooLong(path: string): boolean {
    const segments = path.split('/');
    if (!segments.some((s) => decodedLength(s) > MAX_PARAM_LENGTH)) return false;
    return this.#routes.some((r) => r.anyLength.test(path));
  }

  /** The methods `path` answers to; empty when no route has that path. */
  allowed(path: string): string[] {
    const found = new Set<string>();
    for (const r of this.#routes) if (r.pattern.test(path)) found.add(r.method);
    return [...found].sort();
  }
}

/** A segment's length as the router counts it: decoded (a key of 510 three-byte characters, 1530 encoded, passes). */
function decodedLength(segment: string): number {
  try {
    return decodeURIComponent(segment).length;
  } catch {
    return segment.length;
  }
}

function toPattern(url: string, maxParamLength: number | null): RegExp {
  const source = url
    .split('/')
    .map((segment) => {
      if (segment === '*') return '.*';
      // As the router: a parameter longer than its limit matches nothing (paramTooLong tells that case apart).
      if (segment.startsWith(':')) return maxParamLength === null ? '[^/]+' : `[^/]{1,${maxParamLength}}`;
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return new RegExp(`^${source}/?$`);
}
