import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PhError } from '../../contract/errors';
import type {} from '../http';
import { rateLimitHeaders, type RateDecision, type RateLimits } from './limiter';
import { ANONYMOUS_TIER, type TierStore } from './tier-store';

declare module 'fastify' {
  interface FastifyRequest {
    /** The rate-limit decision for this request (its tier, what is left), once counted. */
    rateLimit: RateDecision | null;
  }
}

/**
 * Counts every request on the embedded server (REST, `/api/v2/ops/*`, the gateway `/gw`, the
 * console's files) against its caller's tier and refuses one over budget with 429
 * `PH_RATE_LIMITED` and `Retry-After`. It runs at `preParsing`, after authentication (`onRequest`)
 * has named the caller and before a body is read. A request refused earlier (no credential) is
 * counted at `onSend` against its address, so that every response carries the headers.
 */
export function installRateLimit(app: FastifyInstance, limits: RateLimits, tiers: TierStore): void {
  app.decorateRequest('rateLimit', null);

  const count = (request: FastifyRequest): Promise<RateDecision> => {
    const caller = request.caller;
    if (caller !== null && caller.keyId !== null) return limits.consume(`key:${caller.keyId}`, tiers.tierFor(caller.keyId, caller.role));
    if (caller !== null) return limits.consume('local', tiers.get('unlimited'));
    return limits.consume(`ip:${request.ip}`, tiers.get(ANONYMOUS_TIER));
  };

  app.addHook('preParsing', async (request: FastifyRequest, reply: FastifyReply) => {
    const decision = await count(request);
    request.rateLimit = decision;
    if (!decision.allowed) {
      void reply.header('retry-after', String(decision.resetSeconds));
      throw new PhError(
        'PH_RATE_LIMITED',
        `The ${decision.tier} tier allows ${decision.limit} requests per ${decision.windowSeconds} s; try again in ${decision.resetSeconds} s`,
        { details: { tier: decision.tier, retryAfterSeconds: decision.resetSeconds } },
      );
    }
  });

  app.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply) => {
    request.rateLimit ??= await count(request);
    const headers = rateLimitHeaders(request.rateLimit);
    if (headers !== null) void reply.headers(headers);
  });
}
