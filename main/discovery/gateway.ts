import type { IncomingHttpHeaders } from 'node:http';
import replyFrom from '@fastify/reply-from';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { serverEndpoint } from '../../contract/endpoints';
import { PhError } from '../../contract/errors';
import { callerHasScope, type Caller } from '../core';
import type { Logger } from '../logger';
import type { GatewayStats } from './gateway-stats';
import { hopByHopFilter, withoutHopByHop } from './hop-by-hop';
import type { LoadBalancer, Outcome } from './load-balancer';
import type { ServiceRegistry, Target } from './registry';
import type { ResolvedTarget, TargetPolicy } from './target-policy';

export const GATEWAY_PREFIX = '/gw';
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
/** RFC 9110 idempotent methods: safe to send again to another instance. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
/** Failures where the upstream never produced a response: the request can go elsewhere. */
const CONNECT_FAILURES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);
/**
 * Failures the caller's request caused before any instance could answer: a header undici will not
 * send, a body shorter than its Content-Length, a caller that went away. Answered without blaming
 * the instance, which stays in rotation.
 */
const CLIENT_FAILURES = new Set(['UND_ERR_INVALID_ARG', 'UND_ERR_NOT_SUPPORTED', 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH', 'UND_ERR_ABORTED']);
const BODY_LIMIT_BYTES = 10 * 1024 * 1024;
/** Upstream bodies up to this size (by Content-Length) are buffered and sent in one write. */
const SMALL_BODY_BYTES = 64 * 1024;

export interface GatewayOptions {
  /** Time to wait for an upstream's response headers. */
  readonly upstreamTimeoutMs?: number;
  /** Connections kept per upstream instance. */
  readonly connectionsPerUpstream?: number;
}

export interface GatewayDeps {
  readonly registry: ServiceRegistry;
  readonly balancer: LoadBalancer;
  readonly stats: GatewayStats;
  /** `discovery.allowedTargets`: an instance outside it is never connected to. */
  readonly targets: TargetPolicy;
  readonly logger: Logger;
  readonly options?: GatewayOptions;
}

/**
 * `/gw/<service>/<path>`: proxies to an instance the balancer picks, through @fastify/reply-from on
 * undici (pooled keep-alive connections per upstream). Adds X-Forwarded-* and Forwarded, drops the
 * caller's Pilothouse credential, and sends an idempotent request once more to another instance
 * when the first never answered (refused, reset, connect timeout). Callers need the `gateway` or
 * `gateway:<service>` scope. Mount it on the HTTP server's fastify instance before it starts.
 */
export function gatewayPlugin(deps: GatewayDeps) {
  return async function gateway(app: FastifyInstance): Promise<void> {
    await app.register(replyFrom, {
      disableRequestLogging: true,
      retryMethods: [],
      undici: {
        connections: deps.options?.connectionsPerUpstream ?? 64,
        pipelining: 1,
        keepAliveTimeout: 30_000,
        headersTimeout: deps.options?.upstreamTimeoutMs ?? 30_000,
        bodyTimeout: deps.options?.upstreamTimeoutMs ?? 30_000,
        connect: { timeout: 2_000 },
      },
    });
    // The body is passed through as bytes, whatever its type: the gateway never parses it.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: BODY_LIMIT_BYTES }, (_req, body, done) => done(null, body));

    const handler = (request: FastifyRequest, reply: FastifyReply): void => {
      const { service } = request.params as { service: string };
      const caller = request.caller as Caller | null;
      if (caller === null || !(callerHasScope(caller, 'gateway') || callerHasScope(caller, `gateway:${service}`))) {
        throw new PhError(
          'PH_DISCOVERY_SCOPE_REQUIRED',
          `Calling ${service} through the gateway needs a key with the gateway or gateway:${service} scope`,
        );
      }
      const path = upstreamPath(request.raw.url ?? '/', service);
      const policy = deps.registry.policy(service);
      const hashKey = policy.strategy === 'consistent-hash' ? (headerValue(request, policy.hashHeader) ?? request.ip) : undefined;
      send(request, reply, service, path, hashKey, new Set());
    };

    const send = (
      request: FastifyRequest,
      reply: FastifyReply,
      service: string,
      path: string,
      key: string | undefined,
      tried: Set<string>,
    ): void => {
      const target = deps.balancer.pick(service, { key, exclude: tried });
      tried.add(target.id);
      // An address literal (nearly every registration) is checked at once; only a name waits for a lookup.
      let literal: ResolvedTarget | null;
      try {
        literal = deps.targets.resolveNow(target.address, target.port);
      } catch (err) {
        refuseTarget(reply, err);
        return;
      }
      if (literal !== null) forward(request, reply, service, path, key, tried, target, literal.address);
      else
        deps.targets.resolve(target.address, target.port).then(
          (allowed) => forward(request, reply, service, path, key, tried, target, allowed.address),
          (err: unknown) => refuseTarget(reply, err),
        );
    };

    const forward = (
      request: FastifyRequest,
      reply: FastifyReply,
      service: string,
      path: string,
      key: string | undefined,
      tried: Set<string>,
      target: Target,
      address: string,
    ): void => {
      deps.balancer.begin(target);
      const started = performance.now();
      let ended = false;
      const end = (outcome: Outcome, error?: string): void => {
        if (ended) return;
        ended = true;
        deps.balancer.end(target, outcome);
        deps.stats.record(target, performance.now() - started, outcome, error);
      };
      // Every begin has its end: reply-from calls neither onResponse nor onError for a caller that
      // went away first, and a request still unsettled when its answer closes was the caller's doing.
      reply.raw.once('close', () => end('client', 'caller went away'));
      const body =
        request.body instanceof Buffer && request.body.length > 0 && request.method !== 'GET' && request.method !== 'HEAD'
          ? request.body
          : undefined;
      // The socket goes to the address the allow-list checked; the Host header keeps the registered name.
      try {
        void reply.from(`http://${hostPort(address, target.port)}${path}`, {
          ...(body === undefined ? {} : { body, contentType: request.headers['content-type'] ?? 'application/octet-stream' }),
          rewriteRequestHeaders: (_req, headers) => ({
            ...forwardingHeaders(request, headers, service),
            host: hostPort(target.address, target.port),
          }),
          // The upstream's Connection, Keep-Alive and the like describe its connection to us, not ours to the caller.
          rewriteHeaders: (headers) => withoutHopByHop(headers),
          onResponse: (_req, res, upstream) => {
            end(upstream.statusCode >= 500 ? 'http-5xx' : 'ok', upstream.statusCode >= 500 ? `HTTP ${upstream.statusCode}` : undefined);
            const length = Number((upstream as unknown as { headers: Record<string, string | undefined> }).headers['content-length'] ?? -1);
            if (length < 0 || length > SMALL_BODY_BYTES) {
              void res.send(upstream.stream);
              return;
            }
            // A small body goes out with the headers in one write instead of a piped stream's several.
            const chunks: Buffer[] = [];
            upstream.stream.on('data', (chunk: Buffer) => chunks.push(chunk));
            upstream.stream.once('end', () => void res.send(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
            upstream.stream.once('error', (err: Error) => res.raw.destroy(err));
          },
          onError: (res, { error }) => {
            const code = errorCode(error);
            if (CLIENT_FAILURES.has(code)) {
              end('client', code);
              const refused = new PhError('PH_INVALID_INPUT', `The request cannot be forwarded as sent (${code})`);
              if (!res.sent) void res.code(refused.status).send(refused.toBody());
              return;
            }
            const neverAnswered = CONNECT_FAILURES.has(code);
            end(neverAnswered ? 'connect-failure' : 'http-5xx', code);
            if (neverAnswered && IDEMPOTENT.has(request.method) && tried.size < 2 && !res.sent) {
              try {
                send(request, reply, service, path, key, tried);
                return;
              } catch (err) {
                if (!(err instanceof PhError)) throw err;
              }
            }
            const failure =
              code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'FST_REPLY_FROM_GATEWAY_TIMEOUT'
                ? new PhError('PH_DISCOVERY_UPSTREAM_FAILED', `${target.id} did not answer in time`)
                : new PhError('PH_DISCOVERY_UPSTREAM_FAILED', `${target.id} failed: ${code}`, {
                    details: { instance: target.id, tried: [...tried] },
                  });
            void res
              .code(code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'FST_REPLY_FROM_GATEWAY_TIMEOUT' ? 504 : failure.status)
              .send(failure.toBody());
          },
        });
      } catch {
        // reply-from throws before sending for a source it will not build (upstreamPath refuses those
        // first). Answered here, not thrown: after a name lookup this runs in a promise's callback.
        end('client', 'refused by the proxy');
        const refused = new PhError('PH_INVALID_INPUT', 'The gateway cannot forward this request as sent', { field: 'path' });
        if (!reply.sent) void reply.code(refused.status).send(refused.toBody());
      }
    };

    // Long-polls would hold the server's close for up to their wait: end them as soon as it starts closing.
    app.addHook('preClose', (done) => {
      deps.registry.releaseWatchers();
      done();
    });

    for (const url of [`${GATEWAY_PREFIX}/:service`, `${GATEWAY_PREFIX}/:service/*`]) {
      // reply-from warns on every upstream failure; the gateway counts those in its stats instead of logging each.
      app.route({ method: [...METHODS], url, config: { access: serverEndpoint(url).access }, logLevel: 'error', handler });
    }
  };
}

/** An instance the allow-list refuses is never reached, and is not counted as the upstream failing. */
function refuseTarget(reply: FastifyReply, err: unknown): void {
  const failure = err instanceof PhError ? err : new PhError('PH_INTERNAL');
  if (!reply.sent) void reply.code(failure.status).send(failure.toBody());
}

function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/**
 * The upstream path: everything after the service's own segment of the raw URL, still encoded.
 * The segment is found by its slash, never by the decoded name's length, so `/gw/%67wprobe57/x`
 * (service `gwprobe57`) sends `/x`, not a path cut at the wrong place.
 */
export function upstreamPath(raw: string, service: string): string {
  const afterPrefix = raw.slice(GATEWAY_PREFIX.length + 1);
  const end = afterPrefix.search(/[/?]/);
  const segment = end === -1 ? afterPrefix : afterPrefix.slice(0, end);
  let decoded = segment;
  // A segment without an escape is its own decoding; decoding it anyway is most of this function's cost.
  if (segment.includes('%'))
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      decoded = '';
    }
  if (decoded !== service) throw new PhError('PH_INVALID_INPUT', 'The gateway path does not name a service', { field: 'service' });
  const rest = end === -1 ? '' : afterPrefix.slice(end);
  const path = rest === '' || rest.startsWith('?') ? `/${rest}` : rest;
  if (!forwardable(path))
    throw new PhError('PH_INVALID_INPUT', 'The gateway does not forward a path with a ".." segment or a malformed escape', {
      field: 'path',
    });
  return path;
}

/**
 * reply-from's own rule for a source it will build (lib/utils.js buildURL), applied before an
 * instance is picked: it throws on a `..` segment, decoded, anywhere in path or query, and on an
 * escape decodeURIComponent rejects.
 */
function forwardable(path: string): boolean {
  let decoded = path;
  if (path.includes('%'))
    try {
      decoded = decodeURIComponent(path);
    } catch {
      return false;
    }
  return !(decoded.includes('/..') || decoded.includes('../'));
}

function headerValue(request: FastifyRequest, name: string | null): string | undefined {
  if (name === null) return undefined;
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The error code under reply-from's wrapper: undici's (ECONNREFUSED) when reply-from wrapped it. */
function errorCode(error: unknown): string {
  const e = error as { code?: string; cause?: { code?: string } };
  if (e.cause?.code !== undefined && (e.code === undefined || e.code.startsWith('FST_REPLY_FROM'))) return e.cause.code;
  return e.code ?? 'UNKNOWN';
}

function forwardingHeaders(req: FastifyRequest, headers: IncomingHttpHeaders, service: string): IncomingHttpHeaders {
  // Copied without some headers rather than copied then `delete`d: deleting turns the object into a
  // slow dictionary that undici then walks. The caller's Pilothouse key or token is for Pilothouse,
  // never for the upstream; `Expect: 100-continue` was answered by this server when it read the
  // body, and undici refuses to send it on (UND_ERR_NOT_SUPPORTED), which turned every large curl
  // upload into a 502. Hop-by-hop headers (Keep-Alive, Upgrade, Proxy-Authorization...) belong to
  // the caller's connection to us; undici refused some, which blamed the instance with a 502.
  const out: IncomingHttpHeaders = {};
  const hopByHop = hopByHopFilter(req.headers.connection);
  for (const name in headers) if (name !== 'authorization' && name !== 'expect' && !hopByHop(name)) out[name] = headers[name];
  const client = req.ip;
  const proto = req.protocol;
  const host = req.headers.host ?? '';
  const prior = req.headers['x-forwarded-for'];
  out['x-forwarded-for'] = prior === undefined ? client : `${Array.isArray(prior) ? prior.join(', ') : prior}, ${client}`;
  out['x-forwarded-proto'] = proto;
  out['x-forwarded-host'] = host;
  out['x-forwarded-prefix'] = `${GATEWAY_PREFIX}/${service}`;
  const forwardedFor = client.includes(':') ? `"[${client}]"` : client;
  const priorForwarded = req.headers.forwarded;
  const element = `for=${forwardedFor};host=${JSON.stringify(host)};proto=${proto}`;
  out.forwarded = priorForwarded === undefined ? element : `${priorForwarded}, ${element}`;
  out['x-request-id'] = req.headers['x-request-id'] ?? String(req.id);
  return out;
}
