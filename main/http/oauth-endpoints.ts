import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { serverEndpoint } from '../../contract/endpoints';
import { PhError } from '../../contract/errors';
import { OAUTH_PATHS, type OAuthErrorBody } from '../../contract/oauth';
import type { Caller } from '../core';
import { OAuthError, type OAuthServer } from '../security';
import { httpErrorOf } from './http-errors';

/** What the token, revocation and introspection endpoints read: URL-encoded fields, 8 KiB at most. */
const FORM_LIMIT_BYTES = 8 * 1024;
const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' };

/** The refusal in RFC 6749 §5.2's shape, with headers and status, for anything an OAuth endpoint throws. */
function replyOAuthError(err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  void reply.headers(NO_STORE);
  if (err instanceof OAuthError) {
    if (err.oauth === 'invalid_client') void reply.header('www-authenticate', 'Basic realm="pilothouse", charset="UTF-8"');
    return reply.code(err.status).send(err.toOAuthBody());
  }
  if (err instanceof PhError && err.code === 'PH_AUTH_THROTTLED') {
    const { retryAfterSeconds } = err.details as { retryAfterSeconds: number };
    const body: OAuthErrorBody = { error: 'temporarily_unavailable', error_description: err.message, code: err.code };
    return reply.code(429).header('retry-after', String(retryAfterSeconds)).send(body);
  }
  const fastifyCode = (err as { code?: unknown }).code;
  if (fastifyCode === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || fastifyCode === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
    return reply
      .code(400)
      .send(new OAuthError('invalid_request', 'Send the parameters as application/x-www-form-urlencoded').toOAuthBody());
  }
  const { status, body, internal } = httpErrorOf(err);
  if (internal) request.log.error({ err }, 'unhandled error');
  return reply.code(status).send(body);
}

/**
 * The OAuth 2.0 endpoints (docs/oauth.md), in a scope of their own: only they parse URL-encoded
 * bodies, and only they answer errors in the RFC's shape. Each authenticates its client itself
 * (HTTP Basic with an API key), so they are public to the server's bearer check.
 */
export function oauthEndpoints(oauth: OAuthServer): FastifyPluginAsync {
  return async (app: FastifyInstance) => {
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: FORM_LIMIT_BYTES }, (_req, body, done) =>
      done(null, new URLSearchParams(typeof body === 'string' ? body : body.toString('utf8'))),
    );
    app.setErrorHandler((err, request, reply) => replyOAuthError(err, request, reply));
    const client = (request: FastifyRequest): Caller => {
      const caller = oauth.authenticateClient(request.headers.authorization, { address: request.ip, transport: 'http' });
      // Named on the request once its credentials pass, so the usage per key counts the client's token calls.
      request.caller = caller;
      return caller;
    };
    const form = (request: FastifyRequest): URLSearchParams => {
      if (!(request.body instanceof URLSearchParams))
        throw new OAuthError('invalid_request', 'Send the parameters as application/x-www-form-urlencoded');
      return request.body;
    };
    const access = (path: string) => ({ config: { access: serverEndpoint(path).access } });

    app.post(OAUTH_PATHS.token, access(OAUTH_PATHS.token), async (request, reply) => {
      const caller = client(request);
      return reply.headers(NO_STORE).send(await oauth.token(caller, form(request)));
    });
    app.post(OAUTH_PATHS.revoke, access(OAUTH_PATHS.revoke), async (request, reply) => {
      const caller = client(request);
      await oauth.revoke(caller, form(request));
      return reply.headers(NO_STORE).code(200).send();
    });
    app.post(OAUTH_PATHS.introspect, access(OAUTH_PATHS.introspect), async (request, reply) => {
      const caller = client(request);
      return reply.headers(NO_STORE).send(await oauth.introspect(caller, form(request)));
    });
    // Verifiers may cache the set: the next key is in it before any token is signed with it.
    app.get(OAUTH_PATHS.jwks, access(OAUTH_PATHS.jwks), async (_request, reply) =>
      reply.header('cache-control', 'public, max-age=300').send(oauth.jwks()),
    );
  };
}
