import type { FastifyInstance } from 'fastify';
import type {} from '../http';

export interface HttpObservation {
  method: string;
  /** The route template (`/api/v2/ops/keys.list`, `/api/v1/things/:id`), or `unmatched`. */
  route: string;
  statusCode: number;
  durationMs: number;
  keyId: string | null;
  bytesIn: number;
  bytesOut: number;
  /** The caller's rate-limit tier, when the rate limit counted the request. */
  tier: string | null;
}

function lengthOf(value: unknown): number {
  const n = typeof value === 'string' ? Number.parseInt(value, 10) : typeof value === 'number' ? value : NaN;
  return Number.isFinite(n) && n >= 0 ? n : 0;
}

/**
 * Adds one `onResponse` hook that reports every answered request (all routes, the 404s included)
 * to `observe`. Call it before the server starts, so the hook reaches every route.
 */
export function instrumentHttp(app: FastifyInstance, observe: (o: HttpObservation) => void): void {
  // Callback style, not async: one promise fewer per request on the hot path.
  app.addHook('onResponse', (request, reply, done) => {
    try {
      observe({
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        statusCode: reply.statusCode,
        durationMs: reply.elapsedTime,
        keyId: request.caller?.keyId ?? null,
        bytesIn: lengthOf(request.headers['content-length']),
        bytesOut: lengthOf(reply.getHeader('content-length')),
        // Set by the rate limit when it runs (main/ratelimit); read structurally to keep the capabilities apart.
        tier: (request as { rateLimit?: { tier: string } | null }).rateLimit?.tier ?? null,
      });
    } catch {
      // A metric must never break a response; the request is simply not counted.
    }
    done();
  });
}
