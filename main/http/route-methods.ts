import type { FastifyInstance } from 'fastify';

/**
 * The router's limit on one path parameter. Cache keys in REST paths may be up to 512 bytes, and
 * fastify's default of 100 would refuse them; a longer parameter matches no route at all.
 */
export const MAX_PARAM_LENGTH = 1024;

/**
 * Which methods each registered path answers, so a request for a path that exists with another
 * method gets 405 and an `Allow` header rather than 404. Collected from `onRoute`, so it knows
 * every route however it was registered; path parameters and wildcards match as the router does.
 */
export class RouteMethods {
  readonly #routes: { pattern: RegExp; method: string }[] = [];

  constructor(app: FastifyInstance) {
    app.addHook('onRoute', (route) => {
      const url = route.url ?? route.path;
      // The console's catch-all (`/*`, static files) would make every path "exist"; it is not an API route.
      if (url === '/*') return;
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      const pattern = toPattern(url);
      for (const method of methods) this.#routes.push({ pattern, method: method.toUpperCase() });
    });
  }

  /** The methods `path` answers to; empty when no route has that path. */
  allowed(path: string): string[] {
    const found = new Set<string>();
    for (const r of this.#routes) if (r.pattern.test(path)) found.add(r.method);
    return [...found].sort();
  }
}

function toPattern(url: string): RegExp {
  const source = url
    .split('/')
    .map((segment) => {
      if (segment === '*') return '.*';
      // As the router: a parameter longer than its limit matches nothing, so the answer is 404, not 405.
      if (segment.startsWith(':')) return `[^/]{1,${MAX_PARAM_LENGTH}}`;
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return new RegExp(`^${source}/?$`);
}
