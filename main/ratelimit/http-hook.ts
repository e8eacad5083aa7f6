import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PhError } from '../../contract/errors';
import { callerBudget } from './caller-budget';
import { policyHeader, type RateDecision, type RateLimits } from './limiter';
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

  const spend = callerBudget(limits, tiers);
  const count = (request: FastifyRequest): Promise<RateDecision> => {
    const caller = request.caller;
    if (caller !== null) return spend(caller);
    return limits.consume(`ip:${request.ip}`, tiers.get(ANONYMOUS_TIER));
  };

  // Callback-style hooks: no extra promise per request on the hot path (see bench/webhooks).
  app.addHook('preParsing', (request, reply, payload, done) => {
    count(request).then((decision) => {
      request.rateLimit = decision;
      if (decision.allowed) return done(null, payload);
      void reply.header('retry-after', String(decision.resetSeconds));
      done(
        new PhError(
          'PH_RATE_LIMITED',
          `The ${decision.tier} tier allows ${decision.limit} requests per ${decision.windowSeconds} s; try again in ${decision.resetSeconds} s`,
          { details: { tier: decision.tier, retryAfterSeconds: decision.resetSeconds } },
        ),
      );
    }, done);
  });

  app.addHook('onSend', (request, reply, payload, done) => {
    const decided = request.rateLimit;
    if (decided !== null) {
      setHeaders(reply, decided);
      return done(null, payload);
    }
    // Refused before it was counted (no or a wrong credential): counted now, against its address.
    count(request).then((decision) => {
      request.rateLimit = decision;
      setHeaders(reply, decision);
      done(null, payload);
    }, done);
  });
}

function setHeaders(reply: FastifyReply, d: RateDecision): void {
  const policy = policyHeader(d);
  if (policy === null) return;
  void reply.header('ratelimit-policy', policy).header('ratelimit', `"${d.tier}";r=${d.remaining};t=${d.resetSeconds}`);
}
