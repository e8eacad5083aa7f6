import type { Database } from 'better-sqlite3';
import type { Introspection, Jwks, TokenResponse } from '../../contract/oauth';
import { PhError } from '../../contract/errors';
import type { Clock } from '../clock';
import type { Caller } from '../core';
import type { ApiKeyStore } from './api-keys';
import type { AuthThrottle } from './auth-throttle';
import type { AuthSource } from './authenticator';
import { AccessTokens } from './oauth-access-tokens';
import { OAuthError } from './oauth-error';
import { OAuthGrants, type OAuthGrant } from './oauth-grants';
import { effective, narrowScope, scopeString, type OAuthGrantScope } from './oauth-scopes';
import { OAuthSigningKeys } from './oauth-signing-keys';

export interface OAuthOptions {
  /** Access-token lifetime. */
  readonly accessTtlSeconds: number;
  /** How long a grant (a refresh-token family) lives from its first token. */
  readonly grantLifetimeMs: number;
  /** A new signing key generation once the current one is this old. */
  readonly rotateKeysEveryMs: number;
}

export const defaultOAuthOptions: OAuthOptions = {
  accessTtlSeconds: 300,
  grantLifetimeMs: 30 * 86_400_000,
  rotateKeysEveryMs: 7 * 86_400_000,
};

/** Tokens minted on other nodes may carry a clock a little ahead or behind; the previous key stays published this much longer. */
const SKEW_MS = 60_000;

export interface OAuthServerDeps {
  readonly db: Database;
  readonly keys: ApiKeyStore;
  readonly throttle: AuthThrottle;
  readonly clock: Clock;
  /** The root the signing keys are derived from (the secret store's `oauth-signing`). */
  readonly root: Buffer;
  readonly options?: Partial<OAuthOptions>;
  /**
   * In a fleet: spends a refresh token fleet-wide at once (true: this call spent it first), so a
   * token replayed on another node before the rotation's record arrives there is still caught.
   */
  readonly spend?: (hash: string, ttlMs: number) => Promise<boolean>;
}

/** Fields a request may name once only (RFC 6749 §3.2: parameters MUST NOT be repeated). */
function field(form: URLSearchParams, name: string): string | undefined {
  const values = form.getAll(name);
  if (values.length > 1) throw new OAuthError('invalid_request', `The parameter ${name} is repeated`);
  return values[0];
}

/**
 * The OAuth 2.0 authorization server for LAN programs (docs/oauth.md): the client is an API key
 * (`client_secret_basic`: its id and secret), the grant is client credentials (RFC 6749 §4.4) with
 * a refresh token rotated on every use (§6, and the reuse detection of the OAuth 2.0 Security BCP),
 * revocation (RFC 7009) and introspection (RFC 7662). Every failed client authentication counts in
 * the failed-authentication throttle, the same as a wrong bearer credential.
 */
export class OAuthServer {
  readonly options: OAuthOptions;
  readonly signing: OAuthSigningKeys;
  readonly grants: OAuthGrants;
  readonly accessTokens: AccessTokens;

  constructor(private readonly deps: OAuthServerDeps) {
    this.options = { ...defaultOAuthOptions, ...deps.options };
    this.signing = new OAuthSigningKeys(deps.db, deps.root, deps.clock, {
      rotateEveryMs: this.options.rotateKeysEveryMs,
      overlapMs: this.options.accessTtlSeconds * 1000 + SKEW_MS,
    });
    this.grants = new OAuthGrants(deps.db, deps.clock, this.options.grantLifetimeMs);
    this.accessTokens = new AccessTokens(this.signing, this.grants, deps.keys, deps.clock, this.options.accessTtlSeconds);
  }

  /** The API key behind `Authorization: Basic`, or `invalid_client` (counted as a failed authentication). */
  authenticateClient(authorization: string | undefined, from: AuthSource): Caller {
    const wait = this.deps.throttle.retryAfterSeconds(from.address, from.transport);
    if (wait !== null)
      throw new PhError('PH_AUTH_THROTTLED', `Too many failed sign-ins from this address; try again in ${wait} s`, {
        details: { retryAfterSeconds: wait },
      });
    const credentials = basicCredentials(authorization);
    const caller = credentials === null ? null : this.deps.keys.verify(`ph_${credentials.id}_${credentials.secret}`);
    if (caller === null) {
      // A request with no credentials at all is a client asking how to authenticate (RFC 6750 §3.1), not a guess.
      if (authorization !== undefined) this.deps.throttle.failure(from.address, from.transport, 'oauth client');
      throw new OAuthError('invalid_client', 'Authenticate with HTTP Basic: the API key id as client id, its secret as client secret');
    }
    return caller;
  }

  async token(client: Caller, form: URLSearchParams): Promise<TokenResponse> {
    const grantType = field(form, 'grant_type');
    if (grantType === undefined) throw new OAuthError('invalid_request', 'grant_type is required');
    const requested = field(form, 'scope');
    if (grantType === 'client_credentials') {
      const scope = narrowScope({ role: client.role, scopes: client.scopes }, requested);
      const { grant, refreshToken } = this.grants.create(client.keyId as string, scope);
      return this.#respond(grant, refreshToken, requested);
    }
    if (grantType === 'refresh_token') {
      const presented = field(form, 'refresh_token');
      if (presented === undefined) throw new OAuthError('invalid_request', 'refresh_token is required');
      const { grant, refreshToken } = await this.#refresh(client, presented);
      // The key's scopes may have narrowed since the grant: the token, and what it reports, narrow too.
      return this.#respond(grant, refreshToken, requested, effective(grant, client));
    }
    throw new OAuthError('unsupported_grant_type', `grant_type ${JSON.stringify(grantType)} is not supported here`);
  }

  /**
   * RFC 7009: ends the grant of an access or refresh token of this client's key. Unknown tokens,
   * and tokens of another key, are answered the same (200) and left alone.
   */
  async revoke(client: Caller, form: URLSearchParams): Promise<void> {
    const token = field(form, 'token');
    if (token === undefined) throw new OAuthError('invalid_request', 'token is required');
    field(form, 'token_type_hint');
    const grant = await this.#grantOf(token);
    if (grant !== null && grant.keyId === client.keyId) this.grants.revoke(grant.id, 'revoked');
  }

  /** RFC 7662, for tokens of the client's own key (an admin key sees any): `active: false` for all else. */
  async introspect(client: Caller, form: URLSearchParams): Promise<Introspection> {
    const token = field(form, 'token');
    if (token === undefined) throw new OAuthError('invalid_request', 'token is required');
    field(form, 'token_type_hint');
    const mine = (keyId: string) => client.role === 'admin' || client.keyId === keyId;
    const claims = await this.accessTokens.claims(token);
    if (claims !== null) {
      if (!mine(claims.keyId) || (await this.accessTokens.verify(token)) === null) return { active: false };
      return {
        active: true,
        token_type: 'access_token',
        scope: scopeString(claims.scope),
        client_id: claims.keyId,
        sub: claims.keyId,
        iss: 'pilothouse',
        exp: claims.exp,
        iat: claims.iat,
        jti: claims.jti,
      };
    }
    const found = this.grants.lookup(token);
    if (found.kind !== 'current' || !mine(found.grant.keyId) || this.deps.keys.callerForId(found.grant.keyId) === null)
      return { active: false };
    return {
      active: true,
      token_type: 'refresh_token',
      scope: scopeString(found.grant),
      client_id: found.grant.keyId,
      sub: found.grant.keyId,
      iss: 'pilothouse',
      exp: Math.floor(found.grant.expiresAt / 1000),
      iat: Math.floor(found.grant.createdAt / 1000),
    };
  }

  jwks(): Jwks {
    return this.signing.jwks();
  }

  /** The caller for an access token (the authenticator's bearer path), or null. */
  verify(token: string): Promise<Caller | null> {
    return this.accessTokens.verify(token);
  }

  /** Ends the grant a caller's access token belongs to (sign-out with a token); false when it came another way. */
  endGrantOf(caller: Caller): boolean {
    if (caller.sessionId === undefined || !caller.sessionId.startsWith('oauth:')) return false;
    this.grants.revoke(caller.sessionId.slice('oauth:'.length), 'revoked');
    return true;
  }

  async #refresh(client: Caller, presented: string): Promise<{ grant: OAuthGrant; refreshToken: string }> {
    const found = this.grants.lookup(presented);
    const invalid = new OAuthError('invalid_grant', 'The refresh token is not valid: unknown, expired, revoked, or already used');
    if (found.kind === 'unknown') throw invalid;
    // A spent token presented again leaked, whoever presents it: the family ends.
    if (found.kind === 'reused') {
      this.grants.revoke(found.grant.id, 'reused');
      throw invalid;
    }
    if (found.grant.keyId !== client.keyId) throw invalid;
    const spentFirst =
      this.deps.spend === undefined ? true : await this.deps.spend(found.hash, found.grant.expiresAt - this.deps.clock.now());
    const next = spentFirst ? this.grants.rotate(found.grant.id, found.hash) : null;
    if (next === null) {
      // Another refresh (here or on another node) spent this token first: this one is a replay.
      this.grants.revoke(found.grant.id, 'reused');
      throw invalid;
    }
    return { grant: this.grants.get(found.grant.id) as OAuthGrant, refreshToken: next };
  }

  async #respond(
    grant: OAuthGrant,
    refreshToken: string,
    requested: string | undefined,
    available: OAuthGrantScope = grant,
  ): Promise<TokenResponse> {
    // The refresh token keeps the whole grant; the access token may be narrower (RFC 6749 §6).
    const scope = narrowScope(available, requested);
    const { token, expiresIn } = await this.accessTokens.mint(grant.keyId, grant.id, scope);
    return { access_token: token, token_type: 'Bearer', expires_in: expiresIn, refresh_token: refreshToken, scope: scopeString(scope) };
  }

  async #grantOf(token: string): Promise<OAuthGrant | null> {
    const claims = await this.accessTokens.claims(token);
    if (claims !== null) return this.grants.get(claims.grantId);
    const found = this.grants.lookup(token);
    return found.kind === 'current' ? found.grant : null;
  }
}

/** RFC 6749 §2.3.1: `Basic base64(urlencoded id ":" urlencoded secret)`. */
function basicCredentials(header: string | undefined): { id: string; secret: string } | null {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (match === null) return null;
  const decoded = Buffer.from(match[1] as string, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  try {
    const unescape = (s: string) => decodeURIComponent(s.replaceAll('+', ' '));
    return { id: unescape(decoded.slice(0, colon)), secret: unescape(decoded.slice(colon + 1)) };
  } catch {
    return null;
  }
}
