import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PhError } from '../../contract/errors';
import { callerSubject } from './caller-budget';
import { policyHeader, remainingHeader, type RateDecision } from './decision';
import type { RateLimits } from './limiter';
import { ANONYMOUS_TIER, type RateTier, type TierStore } from './tier-store';

declare module 'fastify' {
  interface FastifyRequest {
    /** The rate-limit decision for this request (its tier, what is left), once counted. */
    rateLimit: RateDecision | null;
  }
}

/** Health probes count on this node alone: they must answer at once while Redis does not. */
const PROBES = new Set(['/healthz', '/readyz']);

/**
 * Counts every request on the embedded server (REST, `/api/v2/ops/*`, the gateway `/gw`, the
 * console's files) against its caller's tier and refuses one over budget with 429
 * `PH_RATE_LIMITED` and `Retry-After`. It runs at `preParsing`, after authentication (`onRequest`)
 * has named the caller and before a body is read, and sets the headers there. A request refused
 * earlier (no credential, a foreign Origin) is counted at `onError` against its address, so that
 * every response carries the headers. A decision that needs no Redis round trip (always in memory;
 * with Redis while the node holds allowance; `/healthz` and `/readyz`, counted on the node's own
 * count) adds no promise to the request.
 */
export function installRateLimit(app: FastifyInstance, limits: RateLimits, tiers: TierStore): void {
  app.decorateRequest('rateLimit', null);
  const headers = new PolicyHeaders();

  // A caller spends the same budget here as its WebSocket frames do (caller-budget.ts); anonymous requests count per address.
  const subjectOf = (request: FastifyRequest): { subject: string; tier: RateTier } =>
    request.caller !== null ? callerSubject(request.caller, tiers) : { subject: `ip:${request.ip}`, tier: tiers.get(ANONYMOUS_TIER) };

  /** Notes and states the decision; the refusal to answer with, if any. */
  const settle = (request: FastifyRequest, reply: FastifyReply, decision: RateDecision): PhError | null => {
    request.rateLimit = decision;
    headers.set(reply, decision);
    if (decision.allowed) return null;
    void reply.header('retry-after', String(decision.resetSeconds));
    return new PhError(
      'PH_RATE_LIMITED',
      `The ${decision.tier} tier allows ${decision.limit} requests per ${decision.windowSeconds} s; try again in ${decision.resetSeconds} s`,
      { details: { tier: decision.tier, retryAfterSeconds: decision.resetSeconds } },
    );
  };

  app.addHook('preParsing', (request, reply, payload, done) => {
    const { subject, tier } = subjectOf(request);
    const now = PROBES.has(request.routeOptions.url ?? '') ? limits.consumeLocally(subject, tier) : limits.tryConsume(subject, tier);
    if (now !== null) {
      const refusal = settle(request, reply, now);
      return refusal === null ? done(null, payload) : done(refusal);
    }
    limits.consume(subject, tier).then((decision) => {
      const refusal = settle(request, reply, decision);
      if (refusal === null) done(null, payload);
      else done(refusal);
    }, done);
  });

  app.addHook('onError', (request, reply, _error, done) => {
    if (request.rateLimit !== null) return done();
    // Refused before it was counted: counted now, against its address (the caller was not named).
    const tier = tiers.get(ANONYMOUS_TIER);
    limits.consume(`ip:${request.ip}`, tier).then(
      (decision) => {
        request.rateLimit = decision;
        headers.set(reply, decision);
        done();
      },
      () => done(),
    );
  });
}

/** `RateLimit-Policy` built once per tier and numbers; `RateLimit` per response. */
class PolicyHeaders {
  readonly #policies = new Map<string, { limit: number | null; windowSeconds: number; value: string | null }>();

  set(reply: FastifyReply, d: RateDecision): void {
    let policy = this.#policies.get(d.tier);
    if (policy === undefined || policy.limit !== d.limit || policy.windowSeconds !== d.windowSeconds) {
      policy = { limit: d.limit, windowSeconds: d.windowSeconds, value: policyHeader(d) };
      this.#policies.set(d.tier, policy);
    }
    if (policy.value === null) return;
    void reply.header('ratelimit-policy', policy.value).header('ratelimit', remainingHeader(d));
  }
}
