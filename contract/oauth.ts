import { Type, type Static } from '@sinclair/typebox';
import type { ErrorCode } from './errors';

/**
 * The OAuth 2.0 surface (docs/oauth.md): client credentials with `client_secret_basic` (the client
 * id is an API key's id, the secret its secret part), refresh with rotation, RFC 7009 revocation,
 * RFC 7662 introspection and the JWKS. Its errors keep RFC 6749 §5.2's shape, so any OAuth library
 * reads them, and add the catalogue code beside the RFC's name.
 */
export const OAUTH_PATHS = {
  token: '/oauth/token',
  revoke: '/oauth/revoke',
  introspect: '/oauth/introspect',
  jwks: '/.well-known/jwks.json',
} as const;

/** The `iss` of every access token, and the audience it is minted for. */
export const OAUTH_ISSUER = 'pilothouse';

/** A scope token naming the most a token may do by role: `role:viewer` narrows an admin key's token to reading. */
export const ROLE_SCOPE_PREFIX = 'role:';

export const oauthErrors = {
  invalid_request: 'PH_OAUTH_INVALID_REQUEST',
  invalid_client: 'PH_OAUTH_INVALID_CLIENT',
  invalid_grant: 'PH_OAUTH_INVALID_GRANT',
  invalid_scope: 'PH_OAUTH_INVALID_SCOPE',
  unsupported_grant_type: 'PH_OAUTH_UNSUPPORTED_GRANT_TYPE',
  // Not an RFC 6749 token-endpoint error: the failed-authentication throttle answers 429 with it.
  temporarily_unavailable: 'PH_AUTH_THROTTLED',
} as const satisfies Record<string, ErrorCode>;
export type OAuthErrorName = keyof typeof oauthErrors;

export const OAuthErrorBodySchema = Type.Object(
  {
    error: Type.Union(Object.keys(oauthErrors).map((name) => Type.Literal(name))),
    error_description: Type.String(),
    /** The catalogue code (contract/errors.ts) for the same failure. */
    code: Type.String({ pattern: '^PH_[A-Z0-9_]+$' }),
  },
  { additionalProperties: false },
);
export type OAuthErrorBody = Static<typeof OAuthErrorBodySchema>;

export const TokenResponseSchema = Type.Object(
  {
    access_token: Type.String({ description: 'A JWT (EdDSA, `kid` in its header): send it as `Authorization: Bearer <token>`' }),
    token_type: Type.Literal('Bearer'),
    expires_in: Type.Integer({ minimum: 1 }),
    refresh_token: Type.String({ description: 'Single use: each refresh returns a new one; using an old one ends the whole grant' }),
    scope: Type.String({ description: 'The scope granted, space-separated: `role:<role>` and the key scopes' }),
  },
  { additionalProperties: false },
);
export type TokenResponse = Static<typeof TokenResponseSchema>;

export const IntrospectionSchema = Type.Object({
  active: Type.Boolean(),
  token_type: Type.Optional(Type.Union([Type.Literal('access_token'), Type.Literal('refresh_token')])),
  scope: Type.Optional(Type.String()),
  client_id: Type.Optional(Type.String()),
  sub: Type.Optional(Type.String()),
  iss: Type.Optional(Type.String()),
  exp: Type.Optional(Type.Integer()),
  iat: Type.Optional(Type.Integer()),
  jti: Type.Optional(Type.String()),
});
export type Introspection = Static<typeof IntrospectionSchema>;

export const JwksSchema = Type.Object({
  keys: Type.Array(
    Type.Object({
      kty: Type.Literal('OKP'),
      crv: Type.Literal('Ed25519'),
      x: Type.String(),
      kid: Type.String(),
      alg: Type.Literal('EdDSA'),
      use: Type.Literal('sig'),
    }),
  ),
});
export type Jwks = Static<typeof JwksSchema>;

/** The form fields of a token request (RFC 6749 §4.4.2, §6). */
export const TokenRequestSchema = Type.Object({
  grant_type: Type.String(),
  scope: Type.Optional(Type.String()),
  refresh_token: Type.Optional(Type.String()),
});
