import { Type, type TSchema } from '@sinclair/typebox';
import type { ErrorCode } from './errors';
import { DependencyStatusSchema } from './ops/monitoring';
import { RoleSchema } from './ops/security';
import { ServiceStatusSchema } from './ops/system';
import { IntrospectionSchema, JwksSchema, OAUTH_PATHS, OAuthErrorBodySchema, TokenResponseSchema } from './oauth';
import type { Role } from './roles';

/** Who may call an endpoint: anyone (no credential), or a caller of at least this role. */
export type Access = 'public' | Role;

export type EndpointMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';

/** One answer an endpoint gives: its body by media type (none for an empty body). */
export interface EndpointResponse {
  readonly description: string;
  readonly content?: Readonly<Record<string, TSchema>>;
}

/**
 * An endpoint of the server that is not a REST route of the table nor an operation: health, metrics,
 * sessions, the gateway, the socket, the console. The server takes each one's access from here, and
 * the API document describes them from here, so neither can drift from the other.
 */
export interface ServerEndpoint {
  readonly methods: readonly EndpointMethod[];
  /** Fastify's form: `:param`, and `*` for the rest of the path. */
  readonly path: string;
  readonly access: Access;
  readonly summary: string;
  readonly description?: string;
  readonly tag: string;
  /** A JSON body is read (errors about bodies apply); `any`: any bytes of any type, passed on; `form`: URL-encoded fields (OAuth). */
  readonly body?: 'json' | 'any' | 'form';
  /** Client authentication with HTTP Basic (`client_secret_basic`: API key id and secret), not a bearer credential. */
  readonly basicAuth?: true;
  /** The success answers, and any answer whose status differs from its code's in the catalogue. */
  readonly responses: Readonly<Record<number, EndpointResponse>>;
  /** Catalogue codes this endpoint raises beyond those of every request (credential, Host, rate limit). */
  readonly errors?: readonly ErrorCode[];
  /** Whatever the upstream answers (the gateway): no fixed success answer. */
  readonly passThrough?: true;
  /** A WebSocket upgrade, not a request and response. */
  readonly upgrade?: true;
}

/** The catalogue's envelope, `{ error: { code, message } }`, as every failure carries it. */
export const ErrorBodySchema = Type.Object(
  {
    error: Type.Object(
      {
        code: Type.String({ pattern: '^PH_[A-Z0-9_]+$' }),
        message: Type.String(),
        field: Type.Optional(Type.String()),
        details: Type.Optional(Type.Unknown()),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

export const ReadinessSchema = Type.Object({
  ready: Type.Boolean(),
  services: Type.Array(ServiceStatusSchema),
  dependencies: Type.Optional(Type.Array(DependencyStatusSchema)),
});

export const SessionTokenSchema = Type.Object({
  token: Type.String({ description: 'A JWT: send it as `Authorization: Bearer <token>`' }),
  expiresAt: Type.String({ format: 'date-time' }),
  role: RoleSchema,
});

const OAUTH_CLIENT_ERRORS: Record<number, EndpointResponse> = {
  400: {
    description: 'RFC 6749 §5.2: `invalid_request`, `invalid_grant`, `invalid_scope` or `unsupported_grant_type`, with the catalogue code',
    content: { 'application/json': OAuthErrorBodySchema },
  },
  401: {
    description: '`invalid_client` (`PH_OAUTH_INVALID_CLIENT`), with `WWW-Authenticate: Basic`',
    content: { 'application/json': OAuthErrorBodySchema },
  },
  429: {
    description: '`temporarily_unavailable` (`PH_AUTH_THROTTLED`): the address failed too often; see Retry-After',
    content: { 'application/json': OAuthErrorBodySchema },
  },
};

const GATEWAY_DESCRIPTION =
  "Proxies to a passing instance of the service the load balancer picks; the answer is the upstream's. Needs the `gateway` or `gateway:<service>` scope. Any request body is passed on as bytes (up to 10 MiB).";

const GATEWAY_ERRORS: readonly ErrorCode[] = [
  'PH_DISCOVERY_SCOPE_REQUIRED',
  'PH_DISCOVERY_TARGET_FORBIDDEN',
  'PH_DISCOVERY_NO_INSTANCE',
  'PH_DISCOVERY_UPSTREAM_FAILED',
];
const GATEWAY_TIMEOUT: Record<number, EndpointResponse> = {
  504: {
    description: '`PH_DISCOVERY_UPSTREAM_FAILED`: the upstream did not answer in time',
    content: { 'application/json': ErrorBodySchema },
  },
};

const PEER_DESCRIPTION =
  'Another node of the fleet keeps its backup replica here (docs/backup.md, Peer replicas). Needs an admin key of this node and the fleet signature headers (`x-peer-node`, `x-peer-at`, `x-peer-mac`, `x-peer-sha256`); the sender must be in `backup.peerSenders`. Files go to `<data-dir>/peer-replicas/<sender node id>/`, never a path the sender names.';

const PEER_ERRORS: readonly ErrorCode[] = ['PH_BACKUP_PEER_UNSIGNED', 'PH_BACKUP_PEER_REFUSED'];

export const serverEndpoints: readonly ServerEndpoint[] = [
  {
    methods: ['GET'],
    path: '/healthz',
    access: 'public',
    summary: 'Liveness: 200 while the process serves',
    tag: 'health',
    responses: { 200: { description: 'The process serves', content: { 'application/json': Type.Object({ status: Type.Literal('ok') }) } } },
  },
  {
    methods: ['GET'],
    path: '/readyz',
    access: 'public',
    summary: 'Readiness: every service running or degraded and no critical dependency down',
    description:
      "Without a credential, each service's and dependency's state only; with a key or session token (any role), each one's detail too (paths, node and worker ids).",
    tag: 'health',
    responses: {
      200: { description: 'Ready', content: { 'application/json': ReadinessSchema } },
      503: {
        description: 'Not ready: a service is not running, or a critical dependency is down',
        content: { 'application/json': ReadinessSchema },
      },
    },
  },
  {
    methods: ['GET'],
    path: '/metrics',
    access: 'viewer',
    summary: 'Prometheus metrics (text exposition format), `pilothouse_` prefix',
    tag: 'health',
    responses: { 200: { description: 'The metrics', content: { 'text/plain': Type.String() } } },
  },
  {
    methods: ['POST'],
    path: '/api/v2/session',
    access: 'viewer',
    summary: 'Mint a short-lived session token from an API key (a session token cannot mint another)',
    tag: 'session',
    body: 'json',
    responses: { 200: { description: 'The session token', content: { 'application/json': SessionTokenSchema } } },
  },
  {
    methods: ['POST'],
    path: OAUTH_PATHS.token,
    access: 'public',
    summary: 'OAuth 2.0 token endpoint: client credentials, and refresh with rotation (docs/oauth.md)',
    description:
      'Authenticate with HTTP Basic: the API key id as client id, the part after it as client secret. `grant_type=client_credentials` (optional `scope`) or `grant_type=refresh_token` with `refresh_token` (optional narrower `scope`).',
    tag: 'oauth',
    body: 'form',
    basicAuth: true,
    responses: { 200: { description: 'The tokens', content: { 'application/json': TokenResponseSchema } }, ...OAUTH_CLIENT_ERRORS },
  },
  {
    methods: ['POST'],
    path: OAUTH_PATHS.revoke,
    access: 'public',
    summary: 'RFC 7009 revocation: ends the grant of an access or refresh token, on every node',
    description: 'Form field `token` (and an optional `token_type_hint`). 200 whether or not the token was known.',
    tag: 'oauth',
    body: 'form',
    basicAuth: true,
    responses: { 200: { description: 'Revoked, or nothing to revoke' }, ...OAUTH_CLIENT_ERRORS },
  },
  {
    methods: ['POST'],
    path: OAUTH_PATHS.introspect,
    access: 'public',
    summary: "RFC 7662 introspection of a token of the client's own key (an admin key may introspect any)",
    description: 'Form field `token`. `{"active": false}` for anything not live or not the caller’s to see.',
    tag: 'oauth',
    body: 'form',
    basicAuth: true,
    responses: { 200: { description: 'What the token is', content: { 'application/json': IntrospectionSchema } }, ...OAUTH_CLIENT_ERRORS },
  },
  {
    methods: ['GET'],
    path: OAUTH_PATHS.jwks,
    access: 'public',
    summary: 'The public keys that verify access tokens (previous while its tokens live, current, next)',
    tag: 'oauth',
    responses: { 200: { description: 'The JSON Web Key Set', content: { 'application/json': JwksSchema } } },
  },
  {
    methods: ['POST'],
    path: '/api/v2/ops/:name',
    access: 'viewer',
    summary: 'Any name that is not an operation',
    description: 'Every operation has its own path under /api/v2/ops/; any other name is 404 PH_UNKNOWN_OPERATION.',
    tag: 'operations',
    body: 'json',
    responses: {},
    errors: ['PH_UNKNOWN_OPERATION'],
  },
  {
    methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
    path: '/gw/:service',
    access: 'viewer',
    summary: "The gateway: the service's root path",
    description: GATEWAY_DESCRIPTION,
    tag: 'gateway',
    body: 'any',
    responses: GATEWAY_TIMEOUT,
    errors: GATEWAY_ERRORS,
    passThrough: true,
  },
  {
    methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
    path: '/gw/:service/*',
    access: 'viewer',
    summary: 'The gateway: a path of the service',
    description: `${GATEWAY_DESCRIPTION} The rest of the URL, slashes and query included, goes to the upstream as it came.`,
    tag: 'gateway',
    body: 'any',
    responses: GATEWAY_TIMEOUT,
    errors: GATEWAY_ERRORS,
    passThrough: true,
  },
  {
    methods: ['GET'],
    path: '/api/v2/backup/peer/files',
    access: 'admin',
    summary: 'Peer replicas: the files this node keeps for the signing node (name → size)',
    description: PEER_DESCRIPTION,
    tag: 'backup',
    responses: {
      200: {
        description: "The sender's replica files",
        content: { 'application/json': Type.Object({ files: Type.Record(Type.String(), Type.Integer({ minimum: 0 })) }) },
      },
    },
    errors: PEER_ERRORS,
  },
  {
    methods: ['GET', 'PUT', 'DELETE'],
    path: '/api/v2/backup/peer/files/*',
    access: 'admin',
    summary: 'Peer replicas: read (whole, or `offset` and `length`), write (whole or not at all) or remove one file of the signing node',
    description: `${PEER_DESCRIPTION} The name is one of a repository's own: \`repository.json\`, \`packs/<id>.pack\`, \`packs/<id>.idx\`, \`snapshots/<id>.snap\`; a PUT sends \`application/octet-stream\` whose SHA-256 the signature covers.`,
    tag: 'backup',
    body: 'any',
    responses: {
      200: {
        description: 'The bytes (GET), or written or removed',
        content: { 'application/octet-stream': Type.String({ format: 'binary' }) },
      },
    },
    errors: [...PEER_ERRORS, 'PH_INVALID_INPUT', 'PH_NOT_FOUND'],
  },
  {
    methods: ['GET'],
    path: '/ws',
    access: 'viewer',
    summary: 'The event socket and real-time hub (WebSocket); see docs/realtime-protocol.md',
    description:
      'Authenticate with the Authorization header on the upgrade, or with `{"type":"auth","token":…}` as the first frame within 5 s.',
    tag: 'realtime',
    responses: { 101: { description: 'Switching to the WebSocket protocol' } },
    upgrade: true,
  },
  {
    methods: ['GET'],
    path: '/',
    access: 'public',
    summary: 'The console (its built files), or a note that it is not built',
    tag: 'console',
    responses: { 200: { description: 'The console page', content: { 'text/html': Type.String(), 'text/plain': Type.String() } } },
  },
];

/** The endpoint at `path` (Fastify's form), which the server mounts with its access. */
export function serverEndpoint(path: string): ServerEndpoint {
  const found = serverEndpoints.find((e) => e.path === path);
  if (found === undefined) throw new Error(`No server endpoint ${path} in contract/endpoints.ts`);
  return found;
}
